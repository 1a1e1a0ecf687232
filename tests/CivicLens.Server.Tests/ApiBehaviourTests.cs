using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>What the API answers to bad input, and what it leaves in the audit log.</summary>
public sealed class ApiBehaviourTests
{
    private static HttpClient Node(TestServer server, string key)
    {
        var c = server.Client();
        c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", key);
        return c;
    }

    private static object Event(Guid id, string camera = "vtest", string kind = "vehicle.stationary") =>
        new { id, kind, phase = "start", camera, rule = "service-road-parking", category = "illegal-parking", at = DateTimeOffset.UtcNow, confidence = 0.8 };

    [Theory]
    [InlineData("{\"events\": [", "application/json")]
    [InlineData("{\"events\": \"many\"}", "application/json")]
    [InlineData("{\"events\": [{\"id\": 42}]}", "application/json")]
    [InlineData("{\"events\": [], \"extra\": true}", "application/json")]
    [InlineData("not json at all", "text/plain")]
    public async Task Ingest_MalformedBody_IsABadRequestWithProblemDetails_AndStoresNothing(string body, string type)
    {
        await using var server = await TestServer.StartAsync();
        var node = Node(server, await server.ApiKeyAsync());
        var r = await node.PostAsync("/api/ingest/events", new StringContent(body, Encoding.UTF8, type));
        Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, $"{(int)r.StatusCode}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var text = await r.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Events.CountAsync());
    }

    [Fact]
    public async Task Ingest_UnknownCameraOrBadField_RejectsTheWholeBatchNamingEachProblem()
    {
        await using var server = await TestServer.StartAsync();
        var node = Node(server, await server.ApiKeyAsync());
        var r = await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event(Guid.NewGuid()), Event(Guid.NewGuid(), camera: "elsewhere") } });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var problem = await r.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("not in the registry", problem.GetProperty("errors").GetProperty("events[1]")[0].GetString(), StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Events.CountAsync());
    }

    [Fact]
    public async Task Ingest_OversizedBody_IsRefusedBeforeItIsRead()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { MaxRequestBytes = 64 * 1024 });
        var node = Node(server, await server.ApiKeyAsync());
        var big = new string('x', 200 * 1024);
        // "Expect: 100-continue": refused on its declared length, before the body leaves the client.
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/ingest/events")
        {
            Content = new StringContent($"{{\"events\": [], \"pad\": \"{big}\"}}", Encoding.UTF8, "application/json"),
            Headers = { ExpectContinue = true },
        };
        var r = await node.SendAsync(post);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
    }

    [Fact]
    public async Task Ingest_Retry_IsIdempotent_AndEventsAppearInTheApi()
    {
        await using var server = await TestServer.StartAsync();
        var node = Node(server, await server.ApiKeyAsync());
        var batch = new { events = Enumerable.Range(0, 20).Select(_ => Event(Guid.NewGuid())).ToArray() };
        var first = await (await node.PostAsJsonAsync("/api/ingest/events", batch)).Content.ReadFromJsonAsync<JsonElement>();
        var second = await (await node.PostAsJsonAsync("/api/ingest/events", batch)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(20, first.GetProperty("new").GetInt32());
        Assert.Equal(0, second.GetProperty("new").GetInt32());

        var viewer = await server.StaffAsync(Roles.Viewer);
        var page1 = await viewer.GetFromJsonAsync<JsonElement>("/api/events?limit=15&kind=vehicle.stationary");
        var next = page1.GetProperty("next").GetString();
        var page2 = await viewer.GetFromJsonAsync<JsonElement>($"/api/events?limit=15&cursor={next}");
        var ids = page1.GetProperty("items").EnumerateArray().Concat(page2.GetProperty("items").EnumerateArray()).Select(e => e.GetProperty("id").GetGuid()).ToList();
        Assert.Equal(20, ids.Count);
        Assert.Equal(20, ids.Distinct().Count());
        Assert.False(page2.TryGetProperty("next", out var end) && end.ValueKind != JsonValueKind.Null, "the last page has no next cursor");
    }

    [Theory]
    [InlineData("/api/events?limit=0")]
    [InlineData("/api/events?limit=100000")]
    [InlineData("/api/events?cursor=garbage!!")]
    [InlineData("/api/events?from=yesterday")]
    public async Task EventList_BadQuery_IsABadRequest(string url)
    {
        await using var server = await TestServer.StartAsync();
        var viewer = await server.StaffAsync(Roles.Viewer);
        var r = await viewer.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task EveryViewAndDenial_LeavesAnAuditRecord_AndTheChainVerifies()
    {
        await using var server = await TestServer.StartAsync();
        var node = Node(server, await server.ApiKeyAsync());
        var id = Guid.NewGuid();
        (await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event(id) } })).EnsureSuccessStatusCode();
        var viewer = await server.StaffAsync(Roles.Viewer);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/events/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync($"/api/events/{id}/snapshot")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/api/events")).StatusCode);

        var auditor = await server.StaffAsync(Roles.Auditor);
        var log = await auditor.GetFromJsonAsync<JsonElement>("/api/audit?limit=500");
        var records = log.GetProperty("items").EnumerateArray().Select(r => (Actor: r.GetProperty("actor").GetString(), Action: r.GetProperty("action").GetString(),
            Outcome: r.GetProperty("outcome").GetString(), Target: r.TryGetProperty("target", out var t) ? t.GetString() : null)).ToList();
        Assert.Contains(("viewer-all", "event.view", "ok", id.ToString()), records);
        Assert.Contains(("viewer-all", "snapshot.view", "not-found", id.ToString()), records);
        Assert.Contains(records, r => r is { Actor: "viewer-all", Action: "denied", Outcome: "forbidden" });
        Assert.Contains(records, r => r is { Actor: "anonymous", Action: "denied", Outcome: "unauthenticated" });
        Assert.Contains(records, r => r is { Action: "login", Outcome: "ok", Actor: "viewer-all" });
        var verify = await auditor.GetFromJsonAsync<JsonElement>("/api/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean());
    }

    [Fact]
    public async Task Answers_CarrySecurityHeaders_AndNoServerBanner()
    {
        await using var server = await TestServer.StartAsync();
        var r = await server.Client().GetAsync("/api/events");
        Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", r.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", r.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", r.Headers.CacheControl?.ToString());
        Assert.False(r.Headers.Contains("Server"));
    }

    [Fact]
    public async Task Login_IsRateLimitedPerAddress()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { LoginAttemptsPerMinute = 3 });
        var client = server.Client();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++) statuses.Add((await client.PostAsJsonAsync("/api/auth/login", new { userName = "x", password = "y" })).StatusCode);
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task Cases_MoveThroughTheirStates_WithHistoryAndOptimisticConcurrency()
    {
        await using var server = await TestServer.StartAsync();
        var node = Node(server, await server.ApiKeyAsync());
        var id = Guid.NewGuid();
        (await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event(id) } })).EnsureSuccessStatusCode();
        var op = await server.StaffAsync(Roles.Operator);
        var opened = await (await op.PostAsJsonAsync($"/api/events/{id}/case", new { title = "Van in the fire lane" })).Content.ReadFromJsonAsync<JsonElement>();
        var caseId = opened.GetProperty("id").GetInt64();
        // Routing (category x area) gives an illegal-parking event to the department that owns parking, not to the
        // camera's own department, unless the operator names another.
        Assert.Equal("parking", opened.GetProperty("department").GetString());

        async Task<JsonElement> Move(string state, int version, HttpStatusCode expected)
        {
            var r = await op.PostAsJsonAsync($"/api/cases/{caseId}/transition", new { state, version, note = "checked on site" });
            Assert.Equal(expected, r.StatusCode);
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }

        var v = opened.GetProperty("version").GetInt32();
        v = (await Move("acknowledged", v, HttpStatusCode.OK)).GetProperty("version").GetInt32();
        await Move("in_progress", v - 1, HttpStatusCode.Conflict); // stale version: someone else changed it
        await Move("open", v, HttpStatusCode.Conflict); // not a legal move
        v = (await Move("in_progress", v, HttpStatusCode.OK)).GetProperty("version").GetInt32();
        v = (await Move("fixed", v, HttpStatusCode.OK)).GetProperty("version").GetInt32();
        var closed = await Move("closed", v, HttpStatusCode.OK);
        Assert.Equal("closed", closed.GetProperty("state").GetString());

        var detail = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.Equal(5, detail.GetProperty("history").GetArrayLength());
        Assert.Equal(id, detail.GetProperty("events")[0].GetProperty("id").GetGuid());
        Assert.Equal("cased", detail.GetProperty("events")[0].GetProperty("state").GetString());
    }

    [Fact]
    public async Task CameraRules_AreServedAsTheConfigurationDrewThem()
    {
        await using var server = await TestServer.StartAsync();
        var viewer = await server.StaffAsync(Roles.Viewer);
        var doc = await viewer.GetFromJsonAsync<JsonElement>("/api/cameras/vtest/rules");
        Assert.Equal(768, doc.GetProperty("resolution")[0].GetInt32());
        Assert.Contains(doc.GetProperty("zones").EnumerateArray(), z => z.GetProperty("id").GetString() == "works-area" && z.GetProperty("polygon").GetArrayLength() == 9);
        Assert.Contains(doc.GetProperty("lines").EnumerateArray(), l => l.GetProperty("id").GetString() == "lamp-post");
        Assert.Contains(doc.GetProperty("rules").EnumerateArray(), r => r.GetProperty("id").GetString() == "service-road-parking" && r.GetProperty("type").GetString() == "stationary-vehicle");
        // The stream URL (it may carry credentials) is in no answer about the camera.
        var camera = await viewer.GetStringAsync("/api/cameras/vtest");
        Assert.DoesNotContain("vtest.avi", camera, StringComparison.Ordinal);
        Assert.DoesNotContain("vtest.avi", doc.GetRawText(), StringComparison.Ordinal);
    }
}
