using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Pipeline.Output;
using CivicLens.Rules.Engine;
using CivicLens.Server.Accounts;
using CivicLens.Server.Ingest;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CivicLens.Server.Tests;

/// <summary>A database that is gone for a while: requests fail cleanly, the pipeline's events wait on disk and catch up.</summary>
public sealed class ResilienceTests
{
    private static RuleEvent Event(int i) => new()
    {
        Id = Guid.NewGuid(),
        Kind = "zone.occupancy",
        Phase = EventPhase.Start,
        Camera = "vtest",
        Rule = "plaza-crowding",
        Category = "crowding",
        StreamTime = TimeSpan.FromSeconds(i),
        At = DateTimeOffset.UtcNow,
        Count = 7,
        Confidence = 0.7f,
    };

    private static async Task SetDatabaseGoneAsync(string connectionString, bool gone)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var admin = Environment.GetEnvironmentVariable(TestDatabase.PostgresVariable)!;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync();
        // Refusing new connections and ending the open ones is what an outage looks like to the server.
        await using var cmd = new NpgsqlCommand(
            $"ALTER DATABASE {target} WITH ALLOW_CONNECTIONS {(gone ? "false" : "true")}; " +
            (gone ? $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{target}';" : ""), conn);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task DatabaseGone_RequestsAnswer503_PipelineEventsWaitInTheJournal_ThenCatchUpWithoutLoss()
    {
        await using var server = await TestServer.StartAsync(nameof(StorageProvider.PostgreSql));
        var viewer = await server.StaffAsync(Roles.Viewer);
        var journal = server.Service<EventJournal>();
        var cs = server.Options.EffectiveStorage.ConnectionString;

        await SetDatabaseGoneAsync(cs, gone: true);
        try
        {
            var r = await viewer.GetAsync("/api/events");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.True(r.Headers.Contains("Retry-After"));
            var body = await r.Content.ReadAsStringAsync();
            Assert.Contains("unavailable", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Npgsql", body, StringComparison.Ordinal);

            // Meanwhile the cameras go on producing events.
            for (var i = 0; i < 30; i++) await journal.OnEventsAsync([new EvidencedEvent(Event(i), null)], CancellationToken.None);
            await Eventually.TrueAsync(() => !server.Service<StoreHealth>().StoreAvailable, TimeSpan.FromSeconds(20), "the drain to notice the store is gone");
            Assert.True(journal.Backlog > 0);
        }
        finally
        {
            await SetDatabaseGoneAsync(cs, gone: false);
        }

        await Eventually.TrueAsync(() => journal.Backlog == 0, TimeSpan.FromSeconds(60), "the journal to drain into the store once it is back");
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(30, await db.Events.CountAsync(e => e.Kind == "zone.occupancy"));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/events")).StatusCode);
    }

    [Fact]
    public async Task Journal_SurvivesARestart_AndATornLastLine()
    {
        using var dir = new TempDirectory();
        var district = CivicLens.Rules.Configuration.ConfigLoader.LoadFile(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));
        var map = CivicLens.Server.Cameras.CameraHost.Mapper(district, district.FindCamera);
        using (var journal = new EventJournal(dir.Path, map))
        {
            for (var i = 0; i < 5; i++) await journal.OnEventsAsync([new EvidencedEvent(Event(i), "vtest-1.jpg")], CancellationToken.None);
            var (first, end) = journal.ReadPending(2);
            Assert.Equal(2, first.Count);
            journal.Commit(end);
        }

        // A crash in the middle of an append leaves half a line.
        await File.AppendAllTextAsync(Path.Combine(dir.Path, "events.jsonl"), "{\"Id\":\"0000");
        using var reopened = new EventJournal(dir.Path, map);
        var (rest, _) = reopened.ReadPending(100);
        Assert.Equal(3, rest.Count);
        Assert.All(rest, e => Assert.Equal("campus", e.AreaId));
        Assert.All(rest, e => Assert.Equal("vtest-1.jpg", e.Snapshot));
    }
}
