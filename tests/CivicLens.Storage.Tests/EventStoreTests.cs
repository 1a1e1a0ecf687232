using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Storage.Tests;

public sealed class EventStoreTests
{
    private static EventRecord Event(Guid id, long at = 1_700_000_000_000) => new()
    {
        Id = id,
        Kind = "vehicle.stationary",
        Phase = "start",
        CameraId = "vtest",
        Rule = "service-road-parking",
        Category = "illegal-parking",
        AreaId = "campus",
        At = at,
        Confidence = 0.8f,
        Label = "truck",
        Box = "600,40,80,60",
        IncidentId = id,
    };

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task IngestAsync_ReplayedBatch_StoresEachEventOnceWithOneOutboxMessagePerChannel(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var store = new EventStore(db.Options, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000))) { Channels = ["mqtt", "webhook:works"] };
        var batch = Enumerable.Range(0, 50).Select(i => Event(Guid.NewGuid(), 1_700_000_000_000 + i)).ToList();

        Assert.Equal(50, await store.IngestAsync(batch, CancellationToken.None));
        // A client that did not see the answer sends the batch again, with one new event.
        var retry = batch.Append(Event(Guid.NewGuid())).ToList();
        Assert.Equal(1, await store.IngestAsync(retry, CancellationToken.None));
        // One id twice in a batch (a node that merged two retries): stored once, queued once per channel.
        var twice = Event(Guid.NewGuid());
        Assert.Equal(1, await store.IngestAsync([twice, Event(twice.Id)], CancellationToken.None));

        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        Assert.Equal(52, await ctx.Events.CountAsync());
        Assert.Equal(104, await ctx.Outbox.CountAsync());
        var stored = await ctx.Events.SingleAsync(e => e.Id == batch[7].Id);
        Assert.Equal(batch[7].At, stored.At);
        Assert.Equal(batch[7].Id, stored.IncidentId);
        Assert.Equal("truck", stored.Label);
        Assert.Equal("new", stored.State);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Migrations_MatchTheModel(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        // A model change without a migration for this provider fails here, not in production.
        Assert.False(ctx.Database.HasPendingModelChanges(), $"the {provider} migrations lag behind the model: run dotnet ef migrations add (docs/storage.md)");
        Assert.Empty(await ctx.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task Sqlite_RunsInWalModeWithFullSync()
    {
        await using var db = await TestDatabase.CreateAsync(nameof(StorageProvider.Sqlite));
        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        await ctx.Database.OpenConnectionAsync();
        await using var cmd = ctx.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync());
        cmd.CommandText = "PRAGMA synchronous";
        Assert.Equal(2L, (long?)await cmd.ExecuteScalarAsync()); // FULL
    }

    [Fact]
    public async Task Sqlite_MigrationLockLeftByAKilledProcess_DoesNotHoldTheNextStartForever()
    {
        // What a process killed during its first migration leaves: EF Core's lock row, and no schema yet.
        using var dir = TestAssets.CreateTempDirectory();
        var options = StorageOptions.SqliteFile(Path.Combine(dir.Path, "civiclens.db"));
        await using (var c = new Microsoft.Data.Sqlite.SqliteConnection(options.ConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE "__EFMigrationsLock" ("Id" INTEGER NOT NULL CONSTRAINT "PK___EFMigrationsLock" PRIMARY KEY, "Timestamp" TEXT NOT NULL);
                INSERT INTO "__EFMigrationsLock" VALUES (1, '2026-11-23 10:00:00+00:00');
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        // EF Core alone would wait for that row forever; a minute is far more than a migration takes here.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await StorageSetup.MigrateAsync(options, deadline.Token);

        await using var ctx = new CivicLensDb(StorageSetup.Options(options));
        Assert.Empty(await ctx.Database.GetPendingMigrationsAsync());
        Assert.Equal(0, await ctx.Events.CountAsync());
    }
}
