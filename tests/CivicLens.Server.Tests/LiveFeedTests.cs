using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Pipeline.Output;
using CivicLens.Rules.Engine;
using CivicLens.Server.Accounts;
using CivicLens.Server.Ingest;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>The SignalR live feed: committed events, camera health and case changes, each only to those allowed to see them.</summary>
public sealed class LiveFeedTests
{
    private static async Task<HubConnection> ConnectAsync(TestServer server, HttpClient client)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/live"), o => o.Cookies = server.CookiesOf(client))
            .Build();
        await hub.StartAsync();
        return hub;
    }

    [Fact]
    public async Task Feed_DeliversEventsHealthAndCases_OnlyWithinTheCallersAreas()
    {
        await using var server = await TestServer.StartAsync();
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            db.Cameras.Add(new Camera { Id = "river-cam", Name = "Quay", AreaId = "riverside", Purpose = "Quay safety", LegalBasis = "Ordinance", DepartmentId = "public-space", RetentionDays = 30 });
            await db.SaveChangesAsync();
        }

        var campusViewer = await server.StaffAsync(Roles.Viewer, "campus");
        var riversideViewer = await server.StaffAsync(Roles.Viewer, "riverside");
        var admin = await server.AdminAsync();
        var events = new List<JsonElement>();
        var riverside = new List<JsonElement>();
        var adminEvents = new List<JsonElement>();
        var health = new List<JsonElement>();
        var cases = new List<JsonElement>();
        await using var campusHub = await ConnectAsync(server, campusViewer);
        await using var riversideHub = await ConnectAsync(server, riversideViewer);
        await using var adminHub = await ConnectAsync(server, admin);
        campusHub.On<JsonElement>("event", e => { lock (events) events.Add(e); });
        campusHub.On<JsonElement>("camera", c => { lock (health) health.Add(c); });
        campusHub.On<JsonElement>("case", c => { lock (cases) cases.Add(c); });
        riversideHub.On<JsonElement>("event", e => { lock (riverside) riverside.Add(e); });
        adminHub.On<JsonElement>("event", e => { lock (adminEvents) adminEvents.Add(e); });

        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        Guid campusEvent = Guid.NewGuid(), riverEvent = Guid.NewGuid();
        object E(Guid id, string camera) => new { id, kind = "zone.occupancy", phase = "start", camera, rule = "crowding", category = "crowding", at = DateTimeOffset.UtcNow, count = 8 };
        (await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { E(campusEvent, "vtest"), E(riverEvent, "river-cam") } })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => { lock (events) return events.Count > 0; }, TimeSpan.FromSeconds(10), "the campus viewer to get the campus event");
        await Eventually.TrueAsync(() => { lock (riverside) return riverside.Count > 0; }, TimeSpan.FromSeconds(10), "the riverside viewer to get the riverside event");

        // The pipeline reports the camera offline: the registry and the feed follow.
        var journal = server.Service<EventJournal>();
        await journal.OnEventsAsync([new EvidencedEvent(new RuleEvent
        {
            Id = Guid.NewGuid(), Kind = "camera.offline", Phase = EventPhase.Start, Camera = "vtest", Rule = "health", Category = "camera-health",
            StreamTime = TimeSpan.Zero, At = DateTimeOffset.UtcNow,
        }, null)], CancellationToken.None);
        await Eventually.TrueAsync(() => { lock (health) return health.Any(h => h.GetProperty("health").GetString() == "offline"); }, TimeSpan.FromSeconds(10),
            "the camera's offline health on the feed");

        var op = await server.StaffAsync(Roles.Operator);
        (await op.PostAsJsonAsync($"/api/events/{campusEvent}/case", new { title = "Crowd at the plaza" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => { lock (cases) return cases.Count > 0; }, TimeSpan.FromSeconds(10), "the case on the campus viewer's feed");

        lock (events) Assert.DoesNotContain(events, e => e.GetProperty("id").GetGuid() == riverEvent);
        lock (riverside) Assert.DoesNotContain(riverside, e => e.GetProperty("id").GetGuid() == campusEvent);
        // Admins configure; they are not sent events.
        lock (adminEvents) Assert.Empty(adminEvents);
    }

    [Fact]
    public async Task Feed_WithoutASession_IsRefused()
    {
        await using var server = await TestServer.StartAsync();
        var hub = new HubConnectionBuilder().WithUrl(new Uri(server.BaseAddress, "/hubs/live")).Build();
        var ex = await Assert.ThrowsAnyAsync<HttpRequestException>(() => hub.StartAsync());
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
    }
}
