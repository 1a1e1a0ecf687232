using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Pipeline.Output;
using CivicLens.Privacy.Retention;
using CivicLens.Rules.Engine;
using CivicLens.Server.Accounts;
using CivicLens.Server.Ingest;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;
using SkiaSharp;

namespace CivicLens.Server.Tests;

/// <summary>
/// Other cameras' views of an event at a site they also cover ("three angles"): journalled by the pipeline, stored
/// once each, listed with the event and its case, served as redacted JPEGs to those who may see the event's own
/// snapshot, audited like it; a view may come before its event.
/// </summary>
public sealed class SiteEvidenceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static RuleEvent Event(Guid id, DateTimeOffset at) => new()
    {
        Id = id,
        Kind = "zone.occupancy",
        Phase = EventPhase.Start,
        Camera = "vtest",
        Rule = "plaza-crowding",
        Category = "crowding",
        Site = "plaza",
        StreamTime = TimeSpan.FromSeconds(12),
        At = at,
        Count = 7,
        Confidence = 0.7f,
    };

    /// <summary>A view as the pipeline names it (<c>camera-frame-event8-site.jpg</c>), written as a real JPEG.</summary>
    private static SiteView View(TestServer server, Guid eventId, string camera, DateTimeOffset at, byte shade)
    {
        var name = $"{camera}-0000042-{eventId.ToString("N")[..8]}-site.jpg";
        using var bitmap = new SKBitmap(32, 24);
        bitmap.Erase(new SKColor(shade, shade, shade));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 80);
        File.WriteAllBytes(Path.Combine(server.Options.SnapshotDirectory, name), data.ToArray());
        return new SiteView(eventId, "zone.occupancy", camera, "vtest", TimeSpan.FromSeconds(12.04), at.AddMilliseconds(40), name);
    }

    private static async Task AddCamerasAsync(TestServer server)
    {
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        foreach (var (id, name) in new[] { ("corner-cam", "Corner of Plaza Street"), ("kiosk-cam", "Kiosk roof") })
        {
            db.Cameras.Add(new Camera
            {
                Id = id,
                Name = name,
                AreaId = "campus",
                SiteId = "plaza",
                Purpose = "Plaza safety",
                LegalBasis = "Sample ordinance",
                DepartmentId = "public-space",
                RetentionDays = 30,
                Analytics = "occupancy",
            });
        }

        await db.SaveChangesAsync();
    }

    private static async Task<List<EventEvidence>> RowsAsync(TestServer server)
    {
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        return await db.EventEvidence.AsNoTracking().OrderBy(v => v.CameraId).ToListAsync();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task JournalledViews_AreStoredOnce_ListedWithEventAndCase_ServedToThoseWhoSeeSnapshots_AndAudited(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        await AddCamerasAsync(server);
        var journal = server.Service<EventJournal>();
        var id = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow.AddSeconds(-5);
        var views = new[] { View(server, id, "corner-cam", at, 90), View(server, id, "kiosk-cam", at, 200) };
        await journal.OnEventsAsync([new EvidencedEvent(Event(id, at), null)], CancellationToken.None);
        await journal.OnViewsAsync(views, CancellationToken.None);
        await Eventually.TrueAsync(async () => journal.Backlog == 0 && (await RowsAsync(server)).Count == 2, Wait, "the drain to store the event's two views");

        var rows = await RowsAsync(server);
        Assert.Equal(["corner-cam", "kiosk-cam"], rows.Select(r => r.CameraId));
        Assert.All(rows, r => Assert.Equal(id, r.EventId));
        Assert.All(rows, r => Assert.Equal(at.AddMilliseconds(40).ToUnixTimeMilliseconds(), r.At));
        Assert.All(rows, r => Assert.StartsWith(r.CameraId + "-", r.Snapshot, StringComparison.Ordinal));

        // A replayed journal (a crash before the checkpoint) stores nothing twice.
        await journal.OnEventsAsync([new EvidencedEvent(Event(id, at), null)], CancellationToken.None);
        await journal.OnViewsAsync(views, CancellationToken.None);
        await Eventually.TrueAsync(() => journal.Backlog == 0, Wait, "the replay to drain");
        Assert.Equal(2, (await RowsAsync(server)).Count);

        var viewer = await server.StaffAsync(Roles.Viewer);
        var detail = await viewer.GetFromJsonAsync<JsonElement>($"/api/events/{id}");
        var listed = detail.GetProperty("views").EnumerateArray().ToList();
        Assert.Equal(["Corner of Plaza Street", "Kiosk roof"], listed.Select(v => v.GetProperty("cameraName").GetString()));
        Assert.Equal("zone.occupancy", detail.GetProperty("kind").GetString());
        var url = listed[0].GetProperty("url").GetString()!;
        Assert.Equal($"/api/events/{id}/views/{rows[0].Id}", url);

        var image = await viewer.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/jpeg", image.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(server.Options.SnapshotDirectory, views[0].Snapshot)), await image.Content.ReadAsByteArrayAsync());
        // Admins and auditors see no footage, so no other angle either.
        Assert.Equal(HttpStatusCode.Forbidden, (await (await server.StaffAsync(Roles.Admin)).GetAsync(url)).StatusCode);
        // A view id of another event is not this event's view.
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync($"/api/events/{Guid.NewGuid()}/views/{rows[0].Id}")).StatusCode);

        // The case opened from the event lists its views too.
        var op = await server.StaffAsync(Roles.Operator);
        var opened = await op.PostAsJsonAsync($"/api/events/{id}/case", new { title = "Crowding at the plaza" });
        Assert.True(opened.IsSuccessStatusCode, await opened.Content.ReadAsStringAsync());
        var caseId = (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var caseView = await viewer.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.Equal([id, id], caseView.GetProperty("views").EnumerateArray().Select(v => v.GetProperty("event").GetGuid()));

        // The kiosk camera's retention removed its file: the view is no longer listed, and its address says why.
        File.Delete(Path.Combine(server.Options.SnapshotDirectory, views[1].Snapshot));
        detail = await viewer.GetFromJsonAsync<JsonElement>($"/api/events/{id}");
        Assert.Single(detail.GetProperty("views").EnumerateArray());
        var gone = await viewer.GetAsync($"/api/events/{id}/views/{rows[1].Id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("retention", (await gone.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var auditor = await server.StaffAsync(Roles.Auditor);
        var log = await auditor.GetFromJsonAsync<JsonElement>("/api/audit?limit=500");
        var records = log.GetProperty("items").EnumerateArray().Select(r => (Action: r.GetProperty("action").GetString(), Outcome: r.GetProperty("outcome").GetString(),
            Target: r.TryGetProperty("target", out var t) ? t.GetString() : null)).ToList();
        Assert.Contains(("snapshot.view", "ok", $"{id}/views/{rows[0].Id}"), records);
        Assert.Contains(("snapshot.view", "not-found", $"{id}/views/{rows[1].Id}"), records);
    }

    [Fact]
    public async Task ViewBeforeItsEvent_IsKept_AndListedOnceTheEventArrives()
    {
        await using var server = await TestServer.StartAsync();
        await AddCamerasAsync(server);
        var journal = server.Service<EventJournal>();
        var viewer = await server.StaffAsync(Roles.Viewer);
        var id = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow.AddSeconds(-5);
        // Another node's camera saw the site first: its view is journalled before the event is.
        await journal.OnViewsAsync([View(server, id, "corner-cam", at, 120)], CancellationToken.None);
        await Eventually.TrueAsync(async () => journal.Backlog == 0 && (await RowsAsync(server)).Count == 1, Wait, "the early view to be stored");
        var early = await RowsAsync(server);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync($"/api/events/{id}/views/{early[0].Id}")).StatusCode);

        await journal.OnEventsAsync([new EvidencedEvent(Event(id, at), null)], CancellationToken.None);
        await Eventually.TrueAsync(() => journal.Backlog == 0, Wait, "the event to be stored");
        var detail = await viewer.GetFromJsonAsync<JsonElement>($"/api/events/{id}");
        Assert.Equal("corner-cam", detail.GetProperty("views").EnumerateArray().Single().GetProperty("camera").GetString());
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/events/{id}/views/{early[0].Id}")).StatusCode);
    }

    [Fact]
    public async Task NodeBatchViews_AreFiledAtHubTime_AndAPathIsNeverStored()
    {
        // What a hub does with a node's lines (HubIntakeGrain): parse events and views, store the views with the node's clock corrected.
        await using var server = await TestServer.StartAsync();
        var id = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow;
        var lines = new[]
        {
            JsonSerializer.Serialize(new JournalView(id, "zone.occupancy", "corner-cam", "vtest", 1.5, at, "corner-cam-0000007-" + id.ToString("N")[..8] + "-site.jpg")),
            JsonSerializer.Serialize(new JournalView(id, "zone.occupancy", "kiosk-cam", "vtest", 1.5, at, "../keys/secrets.key")),
        };
        var views = lines.Select(EventJournal.Parse).Select(e => e.View!).ToList();
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        Assert.Equal(1, await EventViewStore.AddAsync(dbs, views, -180_000, CancellationToken.None));
        Assert.Equal(0, await EventViewStore.AddAsync(dbs, views, -180_000, CancellationToken.None));
        var row = Assert.Single(await RowsAsync(server));
        Assert.Equal(("corner-cam", at.ToUnixTimeMilliseconds() - 180_000), (row.CameraId, row.At));
    }

    [Fact]
    public void EvidenceLine_AsThePipelineWritesIt_ParsesAsAView_AndGoesWithItsCamerasRetention()
    {
        // The line AnalysisWriter.WriteSiteEvidenceAsync writes, field for field.
        const string line = "{\"type\":\"evidence\",\"event\":\"0f6d2c1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f\",\"kind\":\"zone.occupancy\",\"camera\":\"corner-cam\","
            + "\"from_camera\":\"vtest\",\"t\":12.04,\"at\":\"2026-12-07T20:00:00.04+00:00\",\"snapshot\":\"corner-cam-0000042-0f6d2c1e-site.jpg\"}";
        var entry = EventJournal.Parse(line);
        Assert.Null(entry.Event);
        Assert.Equal(new JournalView(Guid.Parse("0f6d2c1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f"), "zone.occupancy", "corner-cam", "vtest", 12.04,
            DateTimeOffset.Parse("2026-12-07T20:00:00.04+00:00", System.Globalization.CultureInfo.InvariantCulture), "corner-cam-0000042-0f6d2c1e-site.jpg"), entry.View);
        Assert.Equal("corner-cam-0000042-0f6d2c1e-site.jpg", entry.Snapshot);
        // What the journal writes reads back the same.
        Assert.Equal(entry.View, EventJournal.Parse(JsonSerializer.Serialize(entry.View)).View);

        // The viewing camera's per-camera purge (RetentionService) takes the file; the event's camera's does not.
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var file = Path.Combine(dir.Path, entry.Snapshot!);
        File.WriteAllBytes(file, [0xFF, 0xD8, 0xFF, 0xD9]);
        File.SetLastWriteTimeUtc(file, time.GetUtcNow().AddDays(-10).UtcDateTime);
        Assert.Equal(0, new EvidenceRetention(dir.Path, TimeSpan.FromDays(7), time) { FilePrefix = "vtest-" }.Purge().Deleted);
        Assert.Equal(1, new EvidenceRetention(dir.Path, TimeSpan.FromDays(7), time) { FilePrefix = "corner-cam-" }.Purge().Deleted);
    }
}
