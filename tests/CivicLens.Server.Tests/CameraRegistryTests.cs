using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cameras;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// The camera registry as the system of record, through the API on the real server and both databases: lifecycle,
/// purpose before power, sealed streams, checks against the district and the detector, bulk import, health counts.
/// </summary>
public sealed class CameraRegistryTests
{
    private const string Accountable = """
        "purpose": "Litter at the riverside bins", "legalBasis": "Waste Ordinance s. 4", "department": "public-space", "retentionDays": 30
        """;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The counts the triggers keep equal a fresh count of the registry, whatever wrote it.</summary>
    private static async Task AssertCountsMatchRegistryAsync(TestServer server)
    {
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var kept = (await db.CameraStateTotals().ToListAsync()).Where(c => c.Cameras != 0).Select(c => $"{c.AreaId}/{c.State}={c.Cameras}").ToList();
        // Folding the deltas (PostgreSQL) changes nothing a count reads.
        await CameraStateTotals.FoldAsync(db, CancellationToken.None);
        Assert.Equal(kept.Order(StringComparer.Ordinal), (await db.CameraStateCounts.AsNoTracking().Where(c => c.Cameras != 0).ToListAsync()).Select(c => $"{c.AreaId}/{c.State}={c.Cameras}").Order(StringComparer.Ordinal));
        var counted = await db.Cameras.AsNoTracking().GroupBy(c => new { c.AreaId, c.Health }).Select(g => new { g.Key.AreaId, g.Key.Health, N = g.Count() }).ToListAsync();
        Assert.Equal(counted.OrderBy(c => c.AreaId, StringComparer.Ordinal).ThenBy(c => c.Health, StringComparer.Ordinal).Select(c => $"{c.AreaId}/{c.Health}={c.N}"), kept.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Lifecycle_CreateEnableDisableRetire_PurposeBeforePowerAndAudited(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var admin = await server.AdminAsync();

        // Created without purpose: allowed while disabled, refused when switched on.
        var created = await admin.PostAsync("/api/cameras", Json("""{"id":"river-1","camera":{"name":"River bins","area":"riverside","latitude":53.8,"longitude":-1.54}}"""));
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var view = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("disabled", view.GetProperty("health").GetString());
        Assert.False(view.GetProperty("hasSource").GetBoolean());
        var refused = await admin.PostAsJsonAsync("/api/cameras/river-1/enabled", new { enabled = true });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("purpose before power", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(problem.GetProperty("problems").EnumerateArray(), p => p.GetProperty("field").GetString() == "legalBasis");

        // Edited with its accountability and a stream with credentials: the address is sealed and never shown back.
        var edit = await admin.PutAsync("/api/cameras/river-1", Json($$"""{"name":"River bins","area":"riverside","latitude":53.8,"longitude":-1.54,{{Accountable}},"source":"rtsp://cam:Hunter2pass@10.1.2.3/stream1","version":1}"""));
        Assert.True(edit.StatusCode == HttpStatusCode.OK, await edit.Content.ReadAsStringAsync());
        var editText = await edit.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Hunter2pass", editText, StringComparison.Ordinal);
        Assert.True(JsonDocument.Parse(editText).RootElement.GetProperty("hasSource").GetBoolean());
        // An edit from the old version is refused, not merged.
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsync("/api/cameras/river-1", Json($$"""{"area":"riverside","latitude":53.8,"longitude":-1.54,{{Accountable}},"version":1}"""))).StatusCode);

        var enabled = await admin.PostAsJsonAsync("/api/cameras/river-1/enabled", new { enabled = true });
        Assert.True(enabled.StatusCode == HttpStatusCode.OK, await enabled.Content.ReadAsStringAsync());
        Assert.Equal("starting", (await enabled.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("health").GetString());
        // Its accountability cannot be edited away while it runs.
        var stripped = await admin.PutAsync("/api/cameras/river-1", Json("""{"area":"riverside","latitude":53.8,"longitude":-1.54,"purpose":"","legalBasis":"x","department":"public-space","retentionDays":30,"version":3}"""));
        Assert.Equal(HttpStatusCode.BadRequest, stripped.StatusCode);
        Assert.Contains((await stripped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("problems").EnumerateArray(), p => p.GetProperty("field").GetString() == "purpose");

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/cameras/river-1/enabled", new { enabled = false })).StatusCode);
        var retired = await admin.PostAsJsonAsync("/api/cameras/river-1/retire", new { reason = "replaced by river-2" });
        Assert.Equal("retired", (await retired.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("health").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync("/api/cameras/river-1/enabled", new { enabled = true })).StatusCode);

        var health = await (await server.StaffAsync(Roles.Operator)).GetFromJsonAsync<JsonElement>("/api/camera-health/river-1");
        Assert.Equal(["retired", "disabled", "starting", "disabled"], health.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("state").GetString()!).ToArray());

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var actions = await db.Audit.Where(a => a.Target == "camera:river-1").OrderBy(a => a.Seq).Select(a => a.Action + ":" + a.Outcome).ToListAsync();
        Assert.Equal(["camera.create:ok", "camera.enable:refused", "camera.update:ok", "camera.update:conflict", "camera.enable:ok", "camera.update:refused", "camera.disable:ok", "camera.retire:ok"], actions);
        Assert.False(await db.Audit.AnyAsync(a => a.Detail != null && a.Detail.Contains("Hunter2pass")));
        var row = await db.Cameras.AsNoTracking().SingleAsync(c => c.Id == "river-1");
        Assert.Null(row.StreamUrlSealed); // a retired camera's credentials are gone
        await AssertCountsMatchRegistryAsync(server);
    }

    [Fact]
    public async Task Create_DefinitionThatCannotRun_RefusedWithField()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.AdminAsync();
        async Task<JsonElement> Refused(string definition)
        {
            var body = JsonSerializer.Serialize(new { id = "bad-1", camera = new { area = "campus", latitude = 53.8, longitude = -1.55, definition } });
            var r = await admin.PostAsync("/api/cameras", Json(body));
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }

        // A PPE rule with the bundled COCO detector: no hard-hat labels, refused when saved, not in a restart loop.
        var ppe = await Refused("""
            resolution: [768, 576]
            zones:
              - id: site
                polygon: [[10, 10], [300, 10], [300, 300], [10, 300]]
            rules:
              - id: hats
                type: ppe
                zone: site
                require: [helmet]
            """);
        Assert.Contains("hats", ppe.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // A polygon outside the picture names the polygon.
        var outside = await Refused("""
            resolution: [768, 576]
            zones:
              - id: far
                polygon: [[700, 500], [900, 500], [900, 700], [700, 700]]
            """);
        Assert.Contains(outside.GetProperty("problems").EnumerateArray(), p => p.GetProperty("field").GetString()!.Contains("polygon", StringComparison.Ordinal));
        // An external signal the district does not define.
        var signal = await Refused("""
            resolution: [768, 576]
            zones:
              - id: crossing
                polygon: [[10, 10], [300, 10], [300, 300], [10, 300]]
            rules:
              - id: red
                type: red-crossing
                zone: crossing
                signal: no-such-light
            """);
        Assert.Contains("no-such-light", signal.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // A source that is not a stream.
        var page = await admin.PostAsync("/api/cameras", Json("""{"id":"bad-2","camera":{"area":"campus","latitude":53.8,"longitude":-1.55,"source":"https://example.org/camera.html"}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, page.StatusCode);
        Assert.Contains("source", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.False(await db.Cameras.AnyAsync(c => c.Id.StartsWith("bad-")));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Import_BadRows_NothingWritten_GoodFileCountedByState(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var admin = await server.AdminAsync();
        const string header = "id,name,latitude,longitude,heading,source,purpose,legal_basis,department,retention_days,site,area,enabled\n";
        var bad = header
            + "r-1,Bins 1,53.801,-1.541,90,rtsp://10.0.0.1/s1,Litter,Waste Ordinance,public-space,30,,riverside,true\n"
            + "r-2,Bins 2,95,-1.541,,,,,,,,riverside,\n"              // latitude out of range
            + "r-1,Duplicate,53.802,-1.542,,,,,,,,riverside,\n"        // duplicate id
            + "r-3,Page,53.803,-1.543,,ftp://10.0.0.3/x,,,,,,riverside,\n" // not a stream
            + "r-4,No purpose,53.804,-1.544,,,,,,,,riverside,true\n"   // enabled without a purpose
            + "r-5,Nowhere,53.805,-1.545,,,,,,,,atlantis,\n";          // unknown area
        var refused = await admin.PostAsync("/api/cameras/import", new StringContent(bad, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problems = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("problems").EnumerateArray()
            .Select(p => (Row: p.GetProperty("row").GetInt32(), Field: p.GetProperty("field").GetString()!)).ToList();
        Assert.Contains((3, "latitude"), problems);
        Assert.Contains(problems, p => p.Row == 4 && p.Field == "id");
        Assert.Contains((5, "source"), problems);
        Assert.Contains(problems, p => p.Row == 6 && p.Field is "enabled" or "purpose");
        Assert.Contains((7, "area"), problems);
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            Assert.False(await db.Cameras.AnyAsync(c => c.Id.StartsWith("r-")), "nothing half-imported");
        }

        var good = header
            + "r-1,Bins 1,53.801,-1.541,90,rtsp://10.0.0.1/s1,Litter,Waste Ordinance,public-space,30,,riverside,true\n"
            + "r-2,Bins 2,53.802,-1.542,,,,,,,,riverside,\n"
            + "r-3,Bins 3,53.803,-1.543,,,,,,,,campus,\n";
        var dry = await admin.PostAsync("/api/cameras/import?dryRun=true", new StringContent(good, Encoding.UTF8, "text/csv"));
        Assert.Equal(3, (await dry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("created").GetInt32());
        var imported = await admin.PostAsync("/api/cameras/import", new StringContent(good, Encoding.UTF8, "text/csv"));
        Assert.True(imported.StatusCode == HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        var again = await (await admin.PostAsync("/api/cameras/import", new StringContent(good, Encoding.UTF8, "text/csv"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, again.GetProperty("unchanged").GetInt32());

        // "How many cameras are offline in the riverside ward?": counted by state per area.
        var viewer = await server.StaffAsync(Roles.Viewer);
        var riverside = await viewer.GetFromJsonAsync<JsonElement>("/api/camera-health/counts?area=riverside");
        Assert.Equal(2, riverside.GetProperty("total").GetInt32());
        Assert.Equal(1, riverside.GetProperty("states").GetProperty("starting").GetInt32());
        Assert.Equal(1, riverside.GetProperty("states").GetProperty("disabled").GetInt32());
        var byArea = await viewer.GetFromJsonAsync<JsonElement>("/api/camera-health/counts?by=area");
        Assert.Equal(1, byArea.GetProperty("areas").GetProperty("campus").GetProperty("disabled").GetInt32());
        var scoped = await server.StaffAsync(Roles.Viewer, "campus");
        Assert.Equal(HttpStatusCode.NotFound, (await scoped.GetAsync("/api/camera-health/counts?area=riverside")).StatusCode);
        var campusOnly = await scoped.GetFromJsonAsync<JsonElement>("/api/camera-health/counts");
        Assert.Equal(2, campusOnly.GetProperty("total").GetInt32()); // the sample camera and r-3

        // A camera moved to another ward is counted there at once.
        var moved = "id,latitude,longitude,area\nr-3,53.803,-1.543,riverside\n";
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/cameras/import", new StringContent(moved, Encoding.UTF8, "text/csv"))).StatusCode);
        Assert.Equal(1, (await scoped.GetFromJsonAsync<JsonElement>("/api/camera-health/counts")).GetProperty("total").GetInt32());
        await AssertCountsMatchRegistryAsync(server);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Import_UpdatesPastOneWriteChunk_AllWritten_CountsInStep(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var admin = await server.AdminAsync();
        string Csv(string name, bool withSource) => "id,name,latitude,longitude,source,area\n" + string.Concat(Enumerable.Range(0, 2100).Select(i =>
            $"bulk-{i:D4},{name} {i},53.8,-1.54,{(withSource && i == 7 ? "rtsp://10.0.0.7/s1" : "")},{(i % 2 == 0 ? "campus" : "riverside")}\n"));
        var first = await admin.PostAsync("/api/cameras/import", new StringContent(Csv("Pole", false), Encoding.UTF8, "text/csv"));
        Assert.True(first.StatusCode == HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        // Every row changes (and one gains a stream): more updates than one write chunk holds, one transaction.
        var second = await admin.PostAsync("/api/cameras/import", new StringContent(Csv("Mast", true), Encoding.UTF8, "text/csv"));
        Assert.True(second.StatusCode == HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        Assert.Equal(2100, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("updated").GetInt32());
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(2100, await db.Cameras.CountAsync(c => c.Name.StartsWith("Mast ") && c.Version == 2));
        Assert.NotNull((await db.Cameras.AsNoTracking().SingleAsync(c => c.Id == "bulk-0007")).StreamUrlSealed);
        await AssertCountsMatchRegistryAsync(server);
    }

    [Fact]
    public async Task ScopedAdmin_CamerasOnlyInTheirAreas_NotBySiteOrMove()
    {
        await using var server = await TestServer.StartAsync();
        var riverside = await server.StaffAsync(Roles.Admin, "riverside");
        Assert.Equal(HttpStatusCode.Created, (await riverside.PostAsync("/api/cameras", Json("""{"id":"quay-1","camera":{"area":"riverside","latitude":53.8,"longitude":-1.54}}"""))).StatusCode);
        // No area named, but the site lies in another ward: where it would land decides.
        Assert.Equal(HttpStatusCode.NotFound, (await riverside.PostAsync("/api/cameras", Json("""{"id":"quay-2","camera":{"site":"plaza","latitude":53.8,"longitude":-1.54}}"""))).StatusCode);
        // Nor can one of theirs be moved out of reach, nor another ward's camera be touched.
        Assert.Equal(HttpStatusCode.NotFound, (await riverside.PutAsync("/api/cameras/quay-1", Json("""{"area":"campus","latitude":53.8,"longitude":-1.54,"version":1}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await riverside.PostAsJsonAsync("/api/cameras/vtest/enabled", new { enabled = false })).StatusCode);
        var csv = "id,latitude,longitude,area\nquay-3,53.8,-1.54,riverside\nquay-4,53.8,-1.55,campus\n";
        var import = await riverside.PostAsync("/api/cameras/import", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, import.StatusCode);
        Assert.Contains((await import.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("problems").EnumerateArray(), p => p.GetProperty("row").GetInt32() == 3 && p.GetProperty("field").GetString() == "area");
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(["quay-1"], await db.Cameras.Where(c => c.Id.StartsWith("quay-")).Select(c => c.Id).ToListAsync());
        Assert.Equal("riverside", await db.Cameras.Where(c => c.Id == "quay-1").Select(c => c.AreaId).SingleAsync());
    }

    [Fact]
    public async Task Start_DistrictFileWithARuleTheDetectorCannotServe_RefusedWithTheRule()
    {
        using var dir = new TempDirectory();
        var config = await TestAssets.SampleConfigAsync(dir.Path);
        // A PPE rule on the bundled COCO detector, which has no hard-hat labels.
        var yaml = (await File.ReadAllTextAsync(config)).Replace("    rules:\n", "    rules:\n      - id: hats\n        type: ppe\n        require: [helmet]\n", StringComparison.Ordinal);
        Assert.Contains("id: hats", yaml, StringComparison.Ordinal);
        await File.WriteAllTextAsync(config, yaml);
        var refused = await Assert.ThrowsAsync<Rules.Configuration.ConfigException>(() => TestServer.StartAsync(tweak: o => o with { ConfigPath = config }));
        Assert.Contains("hats", refused.Message, StringComparison.Ordinal);
        Assert.Contains("helmet", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_HealthHistoryPastItsRetention_Deleted_CurrentStateKept()
    {
        await using var server = await TestServer.StartAsync();
        var now = DateTimeOffset.UtcNow;
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            db.CameraHealthChanges.Add(new Storage.Entities.CameraHealthChange { CameraId = "vtest", State = "offline", At = (now - TimeSpan.FromDays(91)).ToUnixTimeMilliseconds() });
            db.CameraHealthChanges.Add(new Storage.Entities.CameraHealthChange { CameraId = "vtest", State = "streaming", At = (now - TimeSpan.FromDays(89)).ToUnixTimeMilliseconds() });
            await db.SaveChangesAsync();
        }

        await server.Service<Retention.RetentionService>().PurgeAsync(CancellationToken.None);
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            var left = await db.CameraHealthChanges.Where(h => h.CameraId == "vtest").Select(h => h.State).ToListAsync();
            Assert.DoesNotContain("offline", left);
            Assert.Contains("streaming", left);
            Assert.True(await db.Cameras.AnyAsync(c => c.Id == "vtest"));
        }
    }

    [Fact]
    public async Task Restart_WithDistrictFile_KeepsRegistryChanges()
    {
        using var data = new TempDirectory();
        ServerOptions Tweak(ServerOptions o) => o with { DataDirectory = data.Path };
        await using (var server = await TestServer.StartAsync(tweak: Tweak))
        {
            var admin = await server.AdminAsync();
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/cameras/vtest/enabled", new { enabled = false })).StatusCode);
        }

        // The file still lists the camera; the registry, not the file, decides that it stays off.
        await using (var restarted = await TestServer.StartAsync(tweak: Tweak))
        {
            await using var db = await restarted.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
            var row = await db.Cameras.AsNoTracking().SingleAsync(c => c.Id == "vtest");
            Assert.False(row.Enabled);
            Assert.Equal("disabled", row.Health);
            Assert.NotNull(row.Definition);
        }
    }

    [Fact]
    public async Task EnableDisable_RunningServer_AnalysisStopsAndStartsWithinFiveSeconds()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { RunPipelines = true, SampleFps = 5 });
        var admin = await server.AdminAsync();
        var runtimes = server.Service<CivicLens.Pipeline.CameraRuntimes>();
        var host = server.Service<CameraHost>();
        await Eventually.TrueAsync(() => host.Supervisor?.Find("vtest")?.Status.State == Domain.Cameras.CameraState.Streaming, TimeSpan.FromSeconds(60), "the sample camera streaming");
        await Eventually.TrueAsync(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest")).GetProperty("health").GetString() == "streaming",
            TimeSpan.FromSeconds(10), "the registry showing the camera streaming");

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/cameras/vtest/enabled", new { enabled = false })).StatusCode);
        await Eventually.TrueAsync(() => runtimes.Find("vtest") is null && host.Supervisor!.Find("vtest") is null, TimeSpan.FromSeconds(5), "analysis stopped within 5 s");
        Assert.Equal("disabled", (await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest")).GetProperty("health").GetString());

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/api/cameras/vtest/enabled", new { enabled = true })).StatusCode);
        await Eventually.TrueAsync(() => runtimes.Find("vtest") is not null, TimeSpan.FromSeconds(5), "analysis started within 5 s");
        await Eventually.TrueAsync(async () => (await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest")).GetProperty("health").GetString() == "streaming",
            TimeSpan.FromSeconds(60), "streaming again");
    }
}
