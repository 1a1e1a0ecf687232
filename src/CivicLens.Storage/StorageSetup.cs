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

    /// <summary>Brings the schema to the current version (idempotent; safe on every start).</summary>
    public static async Task MigrateAsync(StorageOptions options, CancellationToken cancellationToken)
    {
        if (options.Provider == StorageProvider.Sqlite)
        {
            var path = new SqliteConnectionStringBuilder(options.ConnectionString).DataSource;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
        }

        await using var db = new CivicLensDb(Options(options));
        await db.Database.MigrateAsync(cancellationToken);
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

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = Sql;
            cmd.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = Sql;
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
