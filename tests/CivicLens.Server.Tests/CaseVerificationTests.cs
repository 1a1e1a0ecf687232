using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;

namespace CivicLens.Server.Tests;

/// <summary>
/// Camera verification of a fix on the real server: a fixed case at a site watched by a scene-change rule waits
/// until that rule ends the case's own change <c>cleared</c> (the zone seen back to the incident's clean reference).
/// Every other end, and the clearing of any other change, leaves it waiting.
/// </summary>
public sealed class CaseVerificationTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static async Task<JsonElement> Json(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>(Web);

    /// <summary>The sample camera's lawn rule as a node reports it.</summary>
    private static object SceneEvent(Guid incident, string phase, DateTimeOffset at, string? detail = null) => new
    {
        id = Guid.NewGuid(),
        kind = "scene.change",
        phase,
        camera = "vtest",
        rule = "lawn-dumping",
        category = "waste",
        zone = "lawn",
        at,
        confidence = 0.9,
        incident,
        detail,
    };

    private static async Task IngestAsync(HttpClient node, params object[] events)
    {
        var ingest = await node.PostAsJsonAsync("/api/ingest/events", new { events });
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);
    }

    /// <summary>A change on the lawn, a case opened from it and marked fixed: the case waits for the camera.</summary>
    private static async Task<(HttpClient Node, HttpClient Op, long Case)> FixedCaseAsync(TestServer server, Guid incident)
    {
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        await IngestAsync(node, SceneEvent(incident, "start", DateTimeOffset.UtcNow.AddMinutes(-5)));
        var op = await server.StaffAsync(Roles.Operator);
        var events = await op.GetFromJsonAsync<JsonElement>("/api/events?kind=scene.change", Web);
        var eventId = events.GetProperty("items")[0].GetProperty("id").GetGuid();
        var opened = await op.PostAsJsonAsync($"/api/events/{eventId}/case", new { });
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        var c = await Json(opened);
        Assert.Equal("sanitation", c.GetProperty("department").GetString());
        var id = c.GetProperty("id").GetInt64();
        var v = c.GetProperty("version").GetInt32();
        foreach (var state in new[] { "acknowledged", "fixed" })
        {
            var t = await op.PostAsJsonAsync($"/api/cases/{id}/transition", new { state, version = v });
            Assert.Equal(HttpStatusCode.OK, t.StatusCode);
            v = (await Json(t)).GetProperty("version").GetInt32();
        }

        var waiting = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{id}", Web);
        Assert.Equal("awaiting-camera", waiting.GetProperty("verification").GetString());
        var refused = await op.PostAsJsonAsync($"/api/cases/{id}/transition", new { state = "closed", version = v });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        return (node, op, id);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("stream ended or restarted")]
    [InlineData("outside the rule's schedule")]
    [InlineData("view changed; scene learned afresh")]
    public async Task CameraVerification_FixedCaseAtAWatchedSite_ClosesWhenTheChangeRuleSeesTheZoneClear(string? falseEnd)
    {
        await using var server = await TestServer.StartAsync();
        var incident = Guid.NewGuid();
        var (node, op, id) = await FixedCaseAsync(server, incident);

        if (falseEnd is not null)
        {
            // The rule ended its condition without seeing the zone clear (a restart, a schedule's end, a view learned
            // afresh): nothing was proven fixed, so the case keeps waiting and says why.
            await IngestAsync(node, SceneEvent(incident, "end", DateTimeOffset.UtcNow, falseEnd));
            var still = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{id}", Web);
            Assert.Equal("fixed", still.GetProperty("state").GetString());
            Assert.Equal("awaiting-camera", still.GetProperty("verification").GetString());
            Assert.Contains(still.GetProperty("history").EnumerateArray(), h => h.GetProperty("change").GetString()!.Contains($"did not see zone lawn clear ({falseEnd}", StringComparison.Ordinal));
        }

        // The same incident, ended later by its kept reference matching again.
        await IngestAsync(node, SceneEvent(incident, "end", DateTimeOffset.UtcNow.AddSeconds(1), "cleared"));
        var closed = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{id}", Web);
        Assert.Equal("closed", closed.GetProperty("state").GetString());
        Assert.Equal("confirmed", closed.GetProperty("verification").GetString());
        Assert.Contains(closed.GetProperty("history").EnumerateArray(), h => h.GetProperty("change").GetString()!.Contains("camera vtest saw zone lawn clear", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CameraVerification_AnotherChangeClearsInTheZone_CaseKeepsWaitingForItsOwn()
    {
        await using var server = await TestServer.StartAsync();
        var incident = Guid.NewGuid();
        var (node, op, id) = await FixedCaseAsync(server, incident);

        // The sample camera restarts and its looped file shows the object appear and go again: a new incident each
        // time, which starts and clears, while the case's own change only ended with the restart.
        var loop = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        await IngestAsync(node, SceneEvent(incident, "end", now, "stream ended or restarted"));
        await IngestAsync(node, SceneEvent(loop, "start", now.AddSeconds(30)), SceneEvent(loop, "end", now.AddSeconds(90), "cleared"));

        var still = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{id}", Web);
        Assert.Equal("fixed", still.GetProperty("state").GetString());
        Assert.Equal("awaiting-camera", still.GetProperty("verification").GetString());
        var history = still.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("change").GetString()!).ToList();
        Assert.DoesNotContain(history, h => h.Contains("saw zone lawn clear", StringComparison.Ordinal));
        // Only the case's own change is noted; the loop's are not about this case.
        Assert.Single(history, h => h.Contains("did not see zone lawn clear", StringComparison.Ordinal));

        await IngestAsync(node, SceneEvent(incident, "end", now.AddSeconds(120), "cleared"));
        var closed = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{id}", Web);
        Assert.Equal("confirmed", closed.GetProperty("verification").GetString());
    }
}
