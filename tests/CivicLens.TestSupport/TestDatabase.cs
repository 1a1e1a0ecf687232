using CivicLens.Storage;
using Npgsql;
using Xunit;

namespace CivicLens.TestSupport;

/// <summary>
/// A fresh, empty database on a provider: a SQLite file in a temp folder, or a new database on the local
/// PostgreSQL that <c>./test.sh</c> starts (tools/test-services.sh, <c>CIVICLENS_TEST_POSTGRES</c>). Store tests run
/// on both; a missing PostgreSQL fails them with the command that starts it, never a silent skip.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "CIVICLENS_TEST_POSTGRES";

    private readonly TempDirectory? _dir;
    private readonly string? _adminConnection;
    private readonly string? _name;

    private TestDatabase(StorageOptions options, TempDirectory? dir, string? adminConnection, string? name)
    {
        Options = options;
        _dir = dir;
        _adminConnection = adminConnection;
        _name = name;
    }

    public StorageOptions Options { get; }

    /// <summary>Provider names for [Theory] data.</summary>
    public static TheoryData<string> Providers => new() { nameof(StorageProvider.Sqlite), nameof(StorageProvider.PostgreSql) };

    public static async Task<TestDatabase> CreateAsync(string provider, bool migrate = true)
    {
        TestDatabase db;
        if (provider == nameof(StorageProvider.Sqlite))
        {
            var dir = new TempDirectory();
            db = new TestDatabase(StorageOptions.SqliteFile(System.IO.Path.Combine(dir.Path, "civiclens.db")), dir, null, null);
        }
        else
        {
            var admin = Environment.GetEnvironmentVariable(PostgresVariable);
            if (string.IsNullOrWhiteSpace(admin))
            {
                throw new InvalidOperationException(
                    $"{PostgresVariable} is not set: the PostgreSQL store tests need the local server that ./test.sh starts (tools/test-services.sh, then source $CIVICLENS_HOME/test-services/env).");
            }

            var name = "civiclens_test_" + Guid.NewGuid().ToString("N")[..12];
            await using (var conn = new NpgsqlConnection(admin))
            {
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
                await cmd.ExecuteNonQueryAsync();
            }

            var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
            db = new TestDatabase(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = cs }, null, admin, name);
        }

        if (migrate) await StorageSetup.MigrateAsync(db.Options, CancellationToken.None);
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        if (_adminConnection is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(_adminConnection);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir?.Dispose();
    }
}
