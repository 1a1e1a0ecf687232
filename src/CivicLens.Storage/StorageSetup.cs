using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace CivicLens.Storage;

/// <summary>Configures <see cref="CivicLensDb"/> for a provider, each with its own migrations assembly.</summary>
public static class StorageSetup
{
    public const string SqliteMigrations = "CivicLens.Storage.Sqlite";
    public const string PostgreSqlMigrations = "CivicLens.Storage.PostgreSql";

    public static DbContextOptionsBuilder<CivicLensDb> Configure(this DbContextOptionsBuilder<CivicLensDb> builder, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        switch (options.Provider)
        {
            case StorageProvider.Sqlite:
                builder.UseSqlite(options.ConnectionString, o => o.MigrationsAssembly(SqliteMigrations))
                    .AddInterceptors(SqlitePragmas.Instance);
                break;
            case StorageProvider.PostgreSql:
                builder.UseNpgsql(options.ConnectionString, o => o.MigrationsAssembly(PostgreSqlMigrations));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Provider, "Unknown storage provider.");
        }

        // Both providers share one context type; each gets its own model (the SQLite one stores Guids as text).
        builder.ReplaceService<IModelCacheKeyFactory, ProviderModelCacheKeyFactory>();
        return builder;
    }

    public static DbContextOptions<CivicLensDb> Options(StorageOptions options) =>
        new DbContextOptionsBuilder<CivicLensDb>().Configure(options).Options;

    /// <summary>The advisory lock key EF Core's migrations run under on PostgreSQL ("CivicLensEF"; Orleans' schema has its own).</summary>
    public const long MigrationLockKey = 0x4369_7669_4C45_4546;

    /// <summary>Brings the schema to the current version (idempotent; safe on every start, and after a crash).</summary>
    /// <remarks>
    /// EF Core guards a migration with a lock: on PostgreSQL an advisory lock that dies with its session, but on SQLite
    /// a row in <c>__EFMigrationsLock</c> that outlives a process killed while holding it, after which every later
    /// start waits for it forever (dotnet/efcore#38958; our crash test found it). So on SQLite the migrating process
    /// first takes an operating-system lock on <c>DB.migrate.lock</c>, which the kernel releases when the process dies;
    /// whoever holds it is the only migrator, so a lock row found then is stale and removed. And when no migration is
    /// pending, nothing is locked at all (every ordinary start).
    /// On PostgreSQL several hubs may start at once against one database, and the provider's own guard does not keep
    /// them apart: four concurrent migrations of an empty database failed with <c>42701: column "external_login" of
    /// relation "users" already exists</c> (a second migrator applying a migration the first had just applied;
    /// MigrationRaceTests). So the whole migration runs under a session-level advisory lock
    /// (<see cref="PostgreSqlAdvisoryLock"/>, key <see cref="MigrationLockKey"/>): a second hub waits, then finds nothing
    /// pending. The lock dies with its connection, so a hub killed while migrating leaves nothing behind.
    /// </remarks>
    public static async Task MigrateAsync(StorageOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var db = new CivicLensDb(Options(options));
        if (options.Provider == StorageProvider.PostgreSql)
        {
            await using var held = await PostgreSqlAdvisoryLock.AcquireAsync(options.ConnectionString!, MigrationLockKey, cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            return;
        }

        if (options.Provider != StorageProvider.Sqlite)
        {
            await db.Database.MigrateAsync(cancellationToken);
            return;
        }

        var path = Path.GetFullPath(new SqliteConnectionStringBuilder(options.ConnectionString).DataSource);
        var dir = Path.GetDirectoryName(path);
        if (dir is not null) Directory.CreateDirectory(dir);
        if (File.Exists(path) && !(await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any()) return;

        using var exclusive = await MigrationLock.AcquireAsync(path + ".migrate.lock", cancellationToken);
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(options.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var cmd = connection.CreateCommand();
            // WAL is a property of the file: set it now, since EF Core's existence check next opens the new file
            // read-only, where our per-connection pragmas could not switch it.
            cmd.CommandText = "PRAGMA journal_mode=WAL";
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '__EFMigrationsLock'";
            if ((long)(await cmd.ExecuteScalarAsync(cancellationToken))! > 0)
            {
                cmd.CommandText = "DELETE FROM \"__EFMigrationsLock\"";
                await cmd.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await db.Database.MigrateAsync(cancellationToken);
    }

    /// <summary>An exclusive lock on a file, held by the kernel for this process (released when it exits or dies).</summary>
    private static class MigrationLock
    {
        public static async Task<FileStream> AcquireAsync(string path, CancellationToken ct)
        {
            while (true)
            {
                try
                {
                    // FileShare.None takes an exclusive flock on Unix.
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    // Another process is migrating this database: wait for it.
                    await Task.Delay(200, ct);
                }
            }
        }
    }

    private sealed class ProviderModelCacheKeyFactory : IModelCacheKeyFactory
    {
        public object Create(DbContext context, bool designTime) => (context.GetType(), context.Database.ProviderName, designTime);
    }

    /// <summary>
    /// Every SQLite connection runs in WAL mode with <c>synchronous=FULL</c> (a committed event survives a power
    /// cut, not only a crash), enforces foreign keys, and waits for a busy writer instead of failing at once.
    /// </summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        public static readonly SqlitePragmas Instance = new();

        private const string Sql = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

        // EF Core checks that a database exists on a read-only connection, where the journal mode cannot be set.
        private const string ReadOnlySql = "PRAGMA busy_timeout=10000;";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = For(connection);
            cmd.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = For(connection);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        private static string For(DbConnection connection) =>
            new SqliteConnectionStringBuilder(connection.ConnectionString).Mode == SqliteOpenMode.ReadOnly ? ReadOnlySql : Sql;
    }
}
