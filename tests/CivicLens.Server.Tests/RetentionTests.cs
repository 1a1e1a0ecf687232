using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Privacy.Retention;
using CivicLens.Server.Accounts;
using CivicLens.Server.Retention;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Server.Tests;

/// <summary>Retention of events, cases and snapshots in the server, on a fake clock, with legal holds as the only override.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task Purge_RemovesWhatOutlivedItsRetention_KeepsCasedAndHeldData_AndAudits()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
        await using var server = await TestServer.StartAsync(configure: b => b.Services.AddSingleton<TimeProvider>(clock));
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        var now = clock.GetUtcNow();
        Guid oldLoose = Guid.NewGuid(), oldHeld = Guid.NewGuid(), oldCased = Guid.NewGuid(), recent = Guid.NewGuid(), closedCaseEvent = Guid.NewGuid();
        object E(Guid id, DateTimeOffset at) => new { id, kind = "zone.entry", phase = "instant", camera = "vtest", rule = "works-area-entry", category = "works-safety", at };
        (await node.PostAsJsonAsync("/api/ingest/events", new
        {
            events = new[] { E(oldLoose, now.AddDays(-400)), E(oldHeld, now.AddDays(-400)), E(oldCased, now.AddDays(-400)), E(recent, now.AddDays(-3)), E(closedCaseEvent, now.AddDays(-10)) },
        })).EnsureSuccessStatusCode();

        var op = await server.StaffAsync(Roles.Operator);
        (await op.PostAsJsonAsync($"/api/events/{oldCased}/case", new { title = "Open case keeps its event" })).EnsureSuccessStatusCode();
        var closing = await (await op.PostAsJsonAsync($"/api/events/{closedCaseEvent}/case", new { title = "Closed case" })).Content.ReadFromJsonAsync<JsonElement>();
        (await op.PostAsJsonAsync($"/api/cases/{closing.GetProperty("id").GetInt64()}/transition", new { state = "closed", version = closing.GetProperty("version").GetInt32() }))
            .EnsureSuccessStatusCode();

        // Evidence: one snapshot past the camera's 30 days, one recent; a hold on one old event.
        var snapshots = server.Options.SnapshotDirectory;
        var oldFile = Path.Combine(snapshots, "vtest-old.jpg");
        var newFile = Path.Combine(snapshots, "vtest-new.jpg");
        await File.WriteAllBytesAsync(oldFile, [1, 2, 3]);
        await File.WriteAllBytesAsync(newFile, [1, 2, 3]);
        File.SetLastWriteTimeUtc(oldFile, now.AddDays(-31).UtcDateTime);
        File.SetLastWriteTimeUtc(newFile, now.AddDays(-1).UtcDateTime);
        new EvidenceRetention(snapshots, TimeSpan.FromDays(30), clock).Hold(new LegalHold("CASE-2026-118", now.AddDays(90), [oldHeld]));

        var retention = server.Service<RetentionService>();
        var first = await retention.PurgeAsync(CancellationToken.None);
        Assert.Equal(new RetentionPass(1, 1, 0), first);
        Assert.False(File.Exists(oldFile));
        Assert.True(File.Exists(newFile));
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var left = await db.Events.Select(e => e.Id).ToListAsync();
            Assert.DoesNotContain(oldLoose, left);
            Assert.Contains(oldHeld, left);
            Assert.Contains(oldCased, left);
            Assert.Contains(recent, left);
            Assert.Contains(closedCaseEvent, left);
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "retention.purge" && EF.Functions.Like(a.Detail!, "1 snapshots, 1 events%")));
        }

        // Two years on, the closed case goes with its event; the open case stays; the expired hold no longer protects.
        // (Advancing the clock also wakes the hourly pass; either may do the work, the outcome is the same.)
        clock.Advance(TimeSpan.FromDays(731));
        await retention.PurgeAsync(CancellationToken.None);
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var left = await db.Events.Select(e => e.Id).ToListAsync();
            Assert.Equal([oldCased], left);
            Assert.Equal(1, await db.Cases.CountAsync());
            Assert.Equal("open", (await db.Cases.SingleAsync()).State);
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "retention.purge" && EF.Functions.Like(a.Detail!, "%, 1 closed cases")));
        }
    }
}
