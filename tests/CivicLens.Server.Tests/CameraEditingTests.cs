using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Pipeline;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// The console's camera editing and live view, on the real server and database: zones and lines saved with the
/// configuration loader's checks and versions, kept across a restart, applied to the running camera; the live
/// view redacted like stored evidence.
/// </summary>
public sealed class CameraEditingTests
{
    private static readonly float[][] Square = [[100, 300], [300, 300], [300, 500], [100, 500]];

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task PutZone_Valid_ShowsInRules_AndSurvivesRestart(string provider)
    {
        using var data = new TempDirectory();
        await using var database = await TestDatabase.CreateAsync(provider, migrate: false);
        ServerOptions Tweak(ServerOptions o) => o with { DataDirectory = data.Path, Storage = database.Options };
        await using (var server = await TestServer.StartAsync(tweak: Tweak))
        {
            var admin = await server.AdminAsync();
            _ = await server.StaffAsync(Roles.Viewer); // an account to read with after the restart (no second factor to re-enrol)
            var before = await ZoneAsync(admin, "lawn");
            Assert.Equal(0, before.GetProperty("version").GetInt32());
            Assert.False(before.GetProperty("edited").GetBoolean());

            var saved = await admin.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", new { polygon = Square, version = 0 });
            Assert.True(saved.StatusCode == HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
            Assert.Equal(1, (await saved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());

            var after = await ZoneAsync(admin, "lawn");
            Assert.Equal(1, after.GetProperty("version").GetInt32());
            Assert.Equal(Square, Points(after));
            // A new zone (not in the file) is added; the others stay as the file has them.
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/cameras/vtest/zones/bus-stop", new { polygon = Square, version = 0 })).StatusCode);
            Assert.Equal(9, Points(await ZoneAsync(admin, "works-area")).Length);

            await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "config.change" && a.Outcome == "ok" && a.Target == "camera:vtest/zone:lawn" && a.Actor == "admin"));
        }

        await using (var restarted = await TestServer.StartAsync(tweak: Tweak))
        {
            var viewer = await restarted.LoginAsync("viewer-all", TestServer.StaffPassword);
            var lawn = await ZoneAsync(viewer, "lawn");
            Assert.Equal(Square, Points(lawn));
            Assert.Equal(1, lawn.GetProperty("version").GetInt32());
            Assert.True(lawn.GetProperty("edited").GetBoolean());
            Assert.Equal(Square, Points(await ZoneAsync(viewer, "bus-stop")));
        }
    }

    [Fact]
    public async Task PutZone_Invalid_AnswersProblemNamingThePoint()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.AdminAsync();
        async Task<JsonElement> Refused(string url, object body)
        {
            var r = await admin.PutAsJsonAsync(url, body);
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{url}: {(int)r.StatusCode} {text}");
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            return JsonDocument.Parse(text).RootElement;
        }

        var bowtie = await Refused("/api/cameras/vtest/zones/lawn", new { polygon = new[] { new float[] { 100, 100 }, [300, 300], [300, 100], [100, 300] }, version = 0 });
        Assert.Contains("edges cross each other", bowtie.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Number, bowtie.GetProperty("point").ValueKind);

        var two = await Refused("/api/cameras/vtest/zones/lawn", new { polygon = new[] { new float[] { 100, 100 }, [300, 300] }, version = 0 });
        Assert.Contains("needs at least 3 points", two.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var outside = await Refused("/api/cameras/vtest/zones/lawn", new { polygon = new[] { new float[] { 100, 100 }, [900, 100], [300, 300] }, version = 0 });
        Assert.Equal("zone 'lawn': point [900, 100] is outside the 768x576 frame", outside.GetProperty("detail").GetString());
        Assert.Equal(1, outside.GetProperty("point").GetInt32());

        var line = await Refused("/api/cameras/vtest/lines/lamp-post", new { from = new[] { 430f, 190f }, to = new[] { 430f, 190f }, inPoint = new[] { 500f, 270f }, version = 0 });
        Assert.Contains("two distinct end points", line.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, line.GetProperty("point").GetInt32());

        var badId = await Refused("/api/cameras/vtest/zones/no%20spaces", new { polygon = Square, version = 0 });
        Assert.Equal("id", badId.GetProperty("field").GetString());

        // A zone a rule uses cannot be deleted; one nobody uses can.
        var used = await admin.DeleteAsync("/api/cameras/vtest/zones/works-area?version=0");
        Assert.Equal(HttpStatusCode.BadRequest, used.StatusCode);
        Assert.Contains("used by rule 'works-area-entry'", await used.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/cameras/vtest/zones/spare", new { polygon = Square, version = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync("/api/cameras/vtest/zones/spare?version=1")).StatusCode);
        var rules = await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest/rules");
        Assert.DoesNotContain(rules.GetProperty("zones").EnumerateArray(), z => z.GetProperty("id").GetString() == "spare");

        // Nothing invalid was stored: the lawn is still the file's.
        Assert.Equal(0, (await ZoneAsync(admin, "lawn")).GetProperty("version").GetInt32());
        // Unknown fields are errors, not ignored.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", new { polygon = Square, version = 0, colour = "red" })).StatusCode);
    }

    [Fact]
    public async Task PutZone_WrongRoleOrScope_IsRefused_StaleVersion_Conflicts()
    {
        await using var server = await TestServer.StartAsync();
        var body = new { polygon = Square, version = 0 };
        foreach (var role in new[] { Roles.Viewer, Roles.Operator, Roles.Investigator, Roles.Auditor })
        {
            var client = await server.StaffAsync(role);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", body)).StatusCode);
        }

        // An admin scoped to another area does not see the camera at all.
        var riverside = await server.StaffAsync(Roles.Admin, "riverside");
        Assert.Equal(HttpStatusCode.NotFound, (await riverside.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", body)).StatusCode);
        var admin = await server.AdminAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsJsonAsync("/api/cameras/no-such-camera/zones/lawn", body)).StatusCode);

        // Two editors start from version 0; the second to save is told, and nothing of theirs overwrites the first.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", body)).StatusCode);
        var other = new { polygon = new[] { new float[] { 10, 10 }, [200, 10], [200, 200] }, version = 0 };
        var stale = await admin.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", other);
        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        var problem = await stale.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, problem.GetProperty("version").GetInt32());
        Assert.Equal(Square, Points(await ZoneAsync(admin, "lawn")));

        // Many saves at once from the same version: exactly one wins.
        var racing = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => admin.PutAsJsonAsync("/api/cameras/vtest/lines/lamp-post",
            new { from = new[] { 400f + i, 190f }, to = new[] { 400f + i, 350f }, inPoint = new[] { 500f, 270f }, version = 0 })));
        Assert.Equal(1, racing.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(racing.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
    }

    [Fact]
    public async Task LiveView_RunningCamera_IsRedactedJpeg_AuditedOnce_AndEditsReachThePipeline()
    {
        using var data = new TempDirectory();
        var config = await TestAssets.SampleConfigAsync(data.Path);
        await using var server = await TestServer.StartAsync(tweak: o => o with { DataDirectory = data.Path, ConfigPath = config, RunPipelines = true, SampleFps = 5 });
        var viewer = await server.StaffAsync(Roles.Viewer);
        var admin = await server.AdminAsync();
        var runtimes = server.Service<CameraRuntimes>();
        await Eventually.TrueAsync(() => runtimes.Find("vtest") is not null, TimeSpan.FromMinutes(1), "the sample camera's pipeline to start");

        // Admins configure but see no footage.
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("/api/cameras/vtest/live.jpg")).StatusCode);
        using var scan = new FaceScan();
        var frames = new HashSet<string>(StringComparer.Ordinal);
        var deadline = server.Service<TimeProvider>().GetUtcNow() + TimeSpan.FromMinutes(2);
        while (frames.Count < 6 && server.Service<TimeProvider>().GetUtcNow() < deadline)
        {
            var r = await viewer.GetAsync("/api/cameras/vtest/live.jpg");
            // 503: no frame yet (the request itself waited for one); poll again.
            if (r.StatusCode == HttpStatusCode.ServiceUnavailable) continue;
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"live view: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            Assert.Equal("image/jpeg", r.Content.Headers.ContentType?.MediaType);
            var bytes = await r.Content.ReadAsByteArrayAsync();
            if (!frames.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))))
            {
                await Task.Delay(300); // the same frame again: a new one comes about once a second
                continue;
            }

            var still = RgbStill.TryDecode(bytes);
            Assert.NotNull(still);
            Assert.Equal((768, 576), (still!.Width, still.Height));
            Assert.Empty(scan.Find(still));
        }

        Assert.True(frames.Count >= 6, $"only {frames.Count} distinct live frames in 2 minutes");
        // Never on disk: no image beyond the event evidence the pipeline stores anyway.
        Assert.DoesNotContain(Directory.EnumerateFiles(data.Path, "*", SearchOption.AllDirectories), f => f.Contains("live", StringComparison.OrdinalIgnoreCase));
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "live.view" && a.Target == "camera:vtest" && a.Actor == "viewer-all"));
        }

        // The zone editor's scene frame, for those who configure: redacted, and every person and vehicle masked
        // whole in flat grey (the sample footage always has pedestrians in view). Viewers have the live view instead.
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/cameras/vtest/scene.jpg")).StatusCode);
        RgbStill? scene = null;
        await Eventually.TrueAsync(async () =>
        {
            var r = await admin.GetAsync("/api/cameras/vtest/scene.jpg");
            if (r.StatusCode != HttpStatusCode.OK) return false;
            scene = RgbStill.TryDecode(await r.Content.ReadAsByteArrayAsync());
            return scene is not null;
        }, TimeSpan.FromMinutes(1), "a scene frame");
        Assert.Equal((768, 576), (scene!.Width, scene.Height));
        Assert.Empty(scan.Find(scene));
        var grey = 0;
        for (var i = 0; i < scene.Pixels.Length; i += 3)
        {
            if (Math.Abs(scene.Pixels[i] - 128) <= 6 && Math.Abs(scene.Pixels[i + 1] - 128) <= 6 && Math.Abs(scene.Pixels[i + 2] - 128) <= 6) grey++;
        }

        Assert.True(grey > 768 * 576 / 100, $"only {grey} masked pixels in the scene frame");
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "scene.view" && a.Target == "camera:vtest" && a.Actor == "admin"));
        }

        // The camera's load is in its view.
        var camera = await viewer.GetFromJsonAsync<JsonElement>("/api/cameras/vtest");
        var load = camera.GetProperty("load");
        Assert.True(load.GetProperty("running").GetBoolean());
        Assert.True(load.GetProperty("framesAnalysed").GetInt64() > 0);
        Assert.InRange(load.GetProperty("detectorLoad").GetDouble(), 0, 1);

        // An edit reaches the running camera's rules without a restart.
        var runtime = runtimes.Find("vtest")!;
        var version = runtime.GeometryVersion;
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/cameras/vtest/zones/lawn", new { polygon = Square, version = 0 })).StatusCode);
        Assert.True(runtime.GeometryVersion > version);
        await Eventually.TrueAsync(() => runtime.AppliedGeometryVersion == runtime.GeometryVersion, TimeSpan.FromSeconds(30), "the camera's rules rebuilt with the edit");
    }

    [Fact]
    public async Task LiveView_CameraNotRunning_Answers404()
    {
        await using var server = await TestServer.StartAsync();
        var viewer = await server.StaffAsync(Roles.Viewer);
        var r = await viewer.GetAsync("/api/cameras/vtest/live.jpg");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("not running", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("/api/cameras/nowhere/live.jpg")).StatusCode);
    }

    private static async Task<JsonElement> ZoneAsync(HttpClient client, string id)
    {
        var rules = await client.GetFromJsonAsync<JsonElement>("/api/cameras/vtest/rules");
        return rules.GetProperty("zones").EnumerateArray().Single(z => z.GetProperty("id").GetString() == id);
    }

    private static float[][] Points(JsonElement zone) =>
        [.. zone.GetProperty("polygon").EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
}
