using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CivicLens.Storage.Tests;

/// <summary>
/// Several hubs starting at once against one empty PostgreSQL database all migrate it: each start succeeds, and the
/// schema is made once (every migration recorded once, no half-made table).
/// </summary>
public sealed class MigrationRaceTests
{
    private const int Migrators = 4;

    [Fact]
    public async Task MigrateAsync_ConcurrentStartsOnAnEmptyPostgreSqlDatabase_AllSucceedAndTheSchemaIsMadeOnce()
    {
        // A few fresh databases: a race that loses only sometimes must still show.
        for (var round = 0; round < 3; round++)
        {
            await using var db = await TestDatabase.CreateAsync(nameof(StorageProvider.PostgreSql), migrate: false);
            using var go = new ManualResetEventSlim();
            var starts = Enumerable.Range(0, Migrators).Select(_ => Task.Run(async () =>
            {
                go.Wait();
                await StorageSetup.MigrateAsync(db.Options, CancellationToken.None);
            })).ToList();
            go.Set();
            await Task.WhenAll(starts).WaitAsync(TimeSpan.FromMinutes(2));

            await using var context = new CivicLensDb(StorageSetup.Options(db.Options));
            var known = context.Database.GetMigrations().ToList();
            Assert.NotEmpty(known);
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
            await using var conn = new NpgsqlConnection(db.Options.ConnectionString);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("""SELECT count(*), count(DISTINCT "MigrationId") FROM "__EFMigrationsHistory" """, conn);
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                Assert.True(await r.ReadAsync());
                Assert.Equal(known.Count, r.GetInt64(0));
                Assert.Equal(known.Count, r.GetInt64(1));
            }

            // The schema works: a write and a read on a table the last migration touched.
            Assert.Equal(0, await context.Events.CountAsync());
        }
    }

    [Fact]
    public async Task MigrateAsync_WhileAnotherMigratorHoldsTheLock_WaitsAndThenFindsNothingPending()
    {
        await using var db = await TestDatabase.CreateAsync(nameof(StorageProvider.PostgreSql), migrate: false);
        Task second;
        await using (await PostgreSqlAdvisoryLock.AcquireAsync(db.Options.ConnectionString!, StorageSetup.MigrationLockKey, CancellationToken.None))
        {
            // A hub whose migration is in progress (holding the lock): the second start waits for it.
            second = StorageSetup.MigrateAsync(db.Options, CancellationToken.None);
            await using var conn = new NpgsqlConnection(db.Options.ConnectionString);
            await conn.OpenAsync();
            await Eventually.TrueAsync(async () =>
            {
                await using var waiting = new NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", conn);
                return (long)(await waiting.ExecuteScalarAsync())! > 0;
            }, TimeSpan.FromSeconds(30), "the second migrator to wait on the migration lock");
            Assert.False(second.IsCompleted, "a second migrator must wait while the first holds the migration lock");
        }

        await second.WaitAsync(TimeSpan.FromMinutes(1));
        await using var context = new CivicLensDb(StorageSetup.Options(db.Options));
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
    }
}
