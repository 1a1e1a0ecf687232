using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Domain;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// The public transparency register, on the real server with the sample district: reachable without login (and
/// nothing else is), it lists what the sample camera is for and who answers for it, its exports parse back to the
/// inventory, its statistics count what was ingested, and no page or export carries a stream URL, a snapshot, a box
/// or a staff name.
/// </summary>
public sealed class TransparencyTests
{
    private const string SamplePurpose = "Safety of the cordoned works area, the service road and the plaza's crowding";
    private const string SampleLegalBasis = "Municipal Public Space Ordinance 2025, s. 12 (sample district)";
    private const string SampleCameraName = "Plaza, north-east corner";

    private static readonly string[] PublicRoutes =
    [
        "/transparency", "/transparency/style.css", "/transparency/privacy", "/transparency/cameras/vtest", "/transparency/cameras/vtest/sign",
        "/transparency/cameras.json", "/transparency/cameras.csv", "/transparency/statistics.json",
    ];

    [Fact]
    public async Task Index_WithoutLogin_ListsSampleCameraWithPurposeAnalyticsAndDepartment()
    {
        await using var server = await TestServer.StartAsync();
        var anonymous = server.Client();

        using var response = await anonymous.GetAsync("/transparency");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("public", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", string.Join(' ', response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        var raw = await response.Content.ReadAsStringAsync();
        var text = WebUtility.HtmlDecode(raw);
        Assert.Contains("Sample district", text, StringComparison.Ordinal);
        Assert.Contains(SampleCameraName, text, StringComparison.Ordinal);
        Assert.Contains(SamplePurpose, text, StringComparison.Ordinal);
        Assert.Contains(SampleLegalBasis, text, StringComparison.Ordinal);
        Assert.Contains("Public Space Management", text, StringComparison.Ordinal);
        Assert.Contains("public-space@sample-district.example", text, StringComparison.Ordinal);
        Assert.Contains("Campus ward", text, StringComparison.Ordinal);
        Assert.Contains("University plaza", text, StringComparison.Ordinal);
        Assert.Contains("53.8011, -1.5489", text, StringComparison.Ordinal);
        Assert.Contains("30 days", text, StringComparison.Ordinal);
        // Analytics in plain words, and what no camera does.
        Assert.Contains("Detects vehicles stopped where stopping is not allowed", text, StringComparison.Ordinal);
        Assert.Contains("counts how many people are in an area", text, StringComparison.OrdinalIgnoreCase);
        foreach (var never in new[] { "no face recognition", "no identification", "no tracking of a person across cameras", "no licence-plate reading" })
        {
            Assert.Contains(never, text, StringComparison.Ordinal);
        }

        foreach (var link in new[] { "/transparency/cameras/vtest", "/transparency/cameras/vtest/sign", "/transparency/cameras.json", "/transparency/cameras.csv", "/transparency/statistics.json", "/transparency/style.css" })
        {
            Assert.Contains($"href=\"{link}\"", raw, StringComparison.Ordinal);
        }

        // The CSP forbids inline style and script: the page has neither, and its stylesheet is served without login.
        Assert.DoesNotContain("<script", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("style=", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<style", raw, StringComparison.OrdinalIgnoreCase);
        using var css = await anonymous.GetAsync("/transparency/style.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task CameraPageAndSign_SampleCamera_GiveSecondAndFirstLayerInformation()
    {
        await using var server = await TestServer.StartAsync();
        var anonymous = server.Client();

        var page = WebUtility.HtmlDecode(await GetOkAsync(anonymous, "/transparency/cameras/vtest", "text/html"));
        Assert.Contains(SampleCameraName, page, StringComparison.Ordinal);
        Assert.Contains(SamplePurpose, page, StringComparison.Ordinal);
        Assert.Contains(SampleLegalBasis, page, StringComparison.Ordinal);
        Assert.Contains("public-space@sample-district.example", page, StringComparison.Ordinal);
        Assert.Contains("deleted automatically after 30 days", page, StringComparison.Ordinal);
        Assert.Contains("Event records", page, StringComparison.Ordinal);
        Assert.Contains("deleted after 365 days unless they become part of a case", page, StringComparison.Ordinal);
        Assert.Contains("deleted 730 days after it closes", page, StringComparison.Ordinal);
        Assert.Contains("No unredacted image is kept", page, StringComparison.Ordinal);
        Assert.Contains("Your rights", page, StringComparison.Ordinal);
        Assert.Contains("supervisory authority", page, StringComparison.Ordinal);
        Assert.Contains("looks south-west", page, StringComparison.Ordinal);
        Assert.Contains("href=\"/transparency/privacy\"", page, StringComparison.Ordinal);
        await GetOkAsync(anonymous, "/transparency/privacy", "text/html");

        var sign = WebUtility.HtmlDecode(await GetOkAsync(anonymous, "/transparency/cameras/vtest/sign", "text/html"));
        Assert.Contains("Camera in operation", sign, StringComparison.Ordinal);
        Assert.Contains(SamplePurpose, sign, StringComparison.Ordinal);
        Assert.Contains("Sample district \u2014 Public Space Management", sign, StringComparison.Ordinal);
        Assert.Contains("public-space@sample-district.example", sign, StringComparison.Ordinal);
        Assert.Contains(new Uri(server.BaseAddress, "/transparency/cameras/vtest").ToString(), sign, StringComparison.Ordinal);
        Assert.Contains("No face recognition", sign, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_WithAPublicUrl_PrintsItWhateverHostTheRequestNames()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { PublicUrl = new Uri("https://cameras.city.example/civic/") });
        var anonymous = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/transparency/cameras/vtest/sign");
        // A forged Host header must not change what a sign printed from this page says.
        request.Headers.Host = "attacker.example";
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sign = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
        Assert.Contains("https://cameras.city.example/civic/transparency/cameras/vtest", sign, StringComparison.Ordinal);
        Assert.DoesNotContain("attacker.example", sign, StringComparison.Ordinal);

        // Every other absolute link follows the same address: a citizen's status link, Open311 discovery.
        using var report = new HttpRequestMessage(HttpMethod.Post, "/public/reports") { Content = ReportTests.Form("waste", ReportTests.PlazaLat, ReportTests.PlazaLon) };
        report.Headers.Host = "attacker.example";
        var answer = await (await anonymous.SendAsync(report)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("https://cameras.city.example/civic/status/", answer.GetProperty("statusUrl").GetString(), StringComparison.Ordinal);
        using var discovery = new HttpRequestMessage(HttpMethod.Get, "/open311/v2/discovery.json");
        discovery.Headers.Host = "attacker.example";
        var endpoints = (await (await anonymous.SendAsync(discovery)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("endpoints");
        Assert.Equal("https://cameras.city.example/civic/open311/v2", endpoints[0].GetProperty("url").GetString());
    }

    [Fact]
    public async Task CameraPage_UnknownOrWithdrawnCamera_Is404Html()
    {
        await using var server = await TestServer.StartAsync();
        await AddCameraAsync(server, new Camera
        {
            Id = "old-cam",
            Name = "Old quay camera",
            AreaId = "riverside",
            Purpose = "Quay safety",
            LegalBasis = "Sample ordinance",
            DepartmentId = "public-space",
            RetentionDays = 7,
            Analytics = "occupancy",
            Enabled = false,
        });
        var anonymous = server.Client();

        foreach (var url in new[] { "/transparency/cameras/no-such-camera", "/transparency/cameras/no-such-camera/sign", "/transparency/cameras/old-cam", "/transparency/cameras/old-cam/sign", "/transparency/no-such-page", "/transparency/report/1999", "/transparency/report/9999" })
        {
            using var response = await anonymous.GetAsync(url);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{url}: {(int)response.StatusCode}");
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("<!DOCTYPE html>", body, StringComparison.Ordinal);
            Assert.Contains("Not found", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Old quay camera", body, StringComparison.Ordinal);
        }

        using var json = await anonymous.GetAsync("/transparency/report/1999.json");
        Assert.Equal(HttpStatusCode.NotFound, json.StatusCode);
        var inventory = await GetJsonAsync(anonymous, "/transparency/cameras.json");
        Assert.DoesNotContain(inventory.GetProperty("cameras").EnumerateArray(), c => c.GetProperty("id").GetString() == "old-cam");
    }

    [Fact]
    public async Task CamerasCsv_ParsesBackToTheJsonInventory_AndNeutralisesFormulas()
    {
        await using var server = await TestServer.StartAsync();
        const string FormulaPurpose = "=HYPERLINK(\"https://evil.example\",\"Click, here\")";
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var vtest = await db.Cameras.SingleAsync(c => c.Id == "vtest");
            vtest.Purpose = FormulaPurpose;
            await db.SaveChangesAsync();
        }

        await AddCameraAsync(server, new Camera
        {
            Id = "gate-cam",
            Name = "Gate <b>main</b> & \"side\",\nentrance",
            AreaId = "riverside",
            Latitude = 53.8001,
            Longitude = -1.5402,
            Purpose = "-2+3 crowd counts at the gate",
            LegalBasis = "@Ordinance s. 4",
            DepartmentId = "parking",
            RetentionDays = 7,
            Analytics = "occupancy,line-crossing",
        });
        var anonymous = server.Client();

        using var response = await anonymous.GetAsync("/transparency/cameras.csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var csv = await response.Content.ReadAsStringAsync();
        var rows = ParseCsv(csv);
        var header = rows[0];
        var records = rows.Skip(1).Select(r =>
        {
            Assert.Equal(header.Count, r.Count);
            return header.Zip(r).ToDictionary(p => p.First, p => p.Second);
        }).ToList();

        using var jsonResponse = await anonymous.GetAsync("/transparency/cameras.json");
        Assert.Equal("application/json", jsonResponse.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", jsonResponse.Content.Headers.ContentDisposition?.DispositionType);
        var inventory = JsonDocument.Parse(await jsonResponse.Content.ReadAsStringAsync()).RootElement;
        var cameras = inventory.GetProperty("cameras").EnumerateArray().ToList();
        Assert.Equal("Sample district", inventory.GetProperty("district").GetString());
        Assert.Equal(365, inventory.GetProperty("retentionPolicy").GetProperty("eventRetentionDays").GetInt32());
        Assert.False(inventory.GetProperty("retentionPolicy").TryGetProperty("sealedOriginalHours", out _));
        Assert.Equal(["gate-cam", "vtest"], cameras.Select(c => c.GetProperty("id").GetString()));
        Assert.Equal(cameras.Count, records.Count);
        foreach (var (camera, row) in cameras.Zip(records))
        {
            Assert.Equal(camera.GetProperty("id").GetString(), row["id"]);
            Assert.Equal(camera.GetProperty("name").GetString(), row["name"]);
            Assert.Equal(camera.GetProperty("area").GetProperty("id").GetString(), row["area_id"]);
            Assert.Equal(camera.GetProperty("area").GetProperty("name").GetString(), row["area"]);
            Assert.Equal(camera.TryGetProperty("site", out var site) ? site.GetProperty("name").GetString() : "", row["site"]);
            Assert.Equal(camera.GetProperty("latitude").GetDouble(), double.Parse(row["latitude"], CultureInfo.InvariantCulture));
            Assert.Equal(camera.GetProperty("longitude").GetDouble(), double.Parse(row["longitude"], CultureInfo.InvariantCulture));
            Assert.Equal(Neutralised(camera.GetProperty("purpose").GetString()!), row["purpose"]);
            Assert.Equal(Neutralised(camera.GetProperty("legalBasis").GetString()!), row["legal_basis"]);
            Assert.Equal(camera.GetProperty("department").GetProperty("id").GetString(), row["department_id"]);
            Assert.Equal(camera.GetProperty("department").GetProperty("name").GetString(), row["department"]);
            Assert.Equal(camera.GetProperty("department").GetProperty("contact").GetString(), row["department_contact"]);
            Assert.Equal(camera.GetProperty("retentionDays").GetInt32(), int.Parse(row["retention_days"], CultureInfo.InvariantCulture));
            Assert.Equal(camera.GetProperty("analytics").EnumerateArray().Select(a => a.GetProperty("type").GetString()), row["analytics"].Split(';'));
        }

        // The inventory itself is exact: JSON carries the text as stored; CSV neutralises what a spreadsheet would run.
        var vtestRow = records.Single(r => r["id"] == "vtest");
        Assert.Equal("'" + FormulaPurpose, vtestRow["purpose"]);
        Assert.Equal(FormulaPurpose, cameras.Single(c => c.GetProperty("id").GetString() == "vtest").GetProperty("purpose").GetString());
        Assert.Equal("'-2+3 crowd counts at the gate", records.Single(r => r["id"] == "gate-cam")["purpose"]);
        Assert.Equal("'@Ordinance s. 4", records.Single(r => r["id"] == "gate-cam")["legal_basis"]);
        Assert.Equal("-1.5402", records.Single(r => r["id"] == "gate-cam")["longitude"]);
        Assert.Equal("Gate <b>main</b> & \"side\",\nentrance", records.Single(r => r["id"] == "gate-cam")["name"]);
        Assert.Equal("vtest", records[1]["id"]);
        Assert.Equal("zone-entry;stationary-vehicle;occupancy;scene-change;line-crossing", vtestRow["analytics"]);
        Assert.DoesNotContain(rows.SelectMany(r => r), cell => cell.Length > 0 && cell[0] is '=' or '+' or '@' || (cell.StartsWith('-') && !double.TryParse(cell, CultureInfo.InvariantCulture, out _)));

        // The same text on the pages is encoded, never markup.
        var index = await GetOkAsync(anonymous, "/transparency", "text/html");
        Assert.DoesNotContain("<b>main</b>", index, StringComparison.Ordinal);
        Assert.Contains("Gate &lt;b&gt;main&lt;/b&gt;", index, StringComparison.Ordinal);
        Assert.Contains("Gate <b>main</b> & \"side\",\nentrance", WebUtility.HtmlDecode(index), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Statistics_IngestedEvents_AreCountedPerKindInTheirMonth()
    {
        await using var server = await TestServer.StartAsync();
        var london = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
        var now = server.Service<TimeProvider>().GetUtcNow();
        var localNow = TimeZoneInfo.ConvertTime(now, london);
        var earlier = new DateTimeOffset(localNow.Year, localNow.Month, 15, 12, 0, 0, TimeSpan.Zero).AddMonths(-2);
        var tooOld = earlier.AddMonths(-13);
        var node = await NodeAsync(server);
        await IngestAsync(node,
            Event("zone.entry", earlier), Event("zone.entry", earlier.AddDays(3)), Event("zone.entry", earlier.AddHours(-30)),
            Event("vehicle.stationary", earlier), Event("zone.entry", now), Event("zone.entry", now), Event("zone.occupancy", tooOld));
        var audit = server.Service<AuditLog>();
        await audit.AppendAsync(new AuditEntry("investigator-jane", "reveal", "ok", "event:1", "case 2026/14"), CancellationToken.None);
        await audit.AppendAsync(new AuditEntry("investigator-jane", "reveal", "denied", "event:2", "no case"), CancellationToken.None);
        await audit.AppendAsync(new AuditEntry("investigator-jane", "reveal.request", "ok", "event:3", "case 2026/15"), CancellationToken.None);
        var anonymous = server.Client();

        var statistics = await GetJsonAsync(anonymous, "/transparency/statistics.json");

        var months = statistics.GetProperty("months").EnumerateArray().ToList();
        Assert.Equal(12, months.Count);
        var thisMonth = localNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var earlierMonth = earlier.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        Assert.Equal(thisMonth, months[^1].GetProperty("month").GetString());
        Assert.Equal(earlierMonth, months[^3].GetProperty("month").GetString());
        Assert.Equal(3, months[^3].GetProperty("events").GetProperty("zone.entry").GetInt32());
        Assert.Equal(1, months[^3].GetProperty("events").GetProperty("vehicle.stationary").GetInt32());
        Assert.Equal(0, months[^3].GetProperty("reveals").GetInt32());
        Assert.Equal(2, months[^1].GetProperty("events").GetProperty("zone.entry").GetInt32());
        Assert.False(months[^1].GetProperty("events").TryGetProperty("vehicle.stationary", out _));
        Assert.Equal(1, months[^1].GetProperty("reveals").GetInt32());
        // The event older than twelve months is outside the window; nothing else was counted anywhere.
        Assert.Equal(6, months.Sum(m => m.GetProperty("events").EnumerateObject().Sum(k => k.Value.GetInt32())));
        Assert.Equal(1, statistics.GetProperty("camerasInService").GetInt32());
        Assert.Equal(1, statistics.GetProperty("camerasByAnalytics").GetProperty("stationary-vehicle").GetInt32());
        Assert.Equal(1, statistics.GetProperty("camerasByAnalytics").GetProperty("line-crossing").GetInt32());

        var index = WebUtility.HtmlDecode(await GetOkAsync(anonymous, "/transparency", "text/html"));
        Assert.Contains($"<th scope=\"row\">{earlierMonth}</th><td>1</td><td>3</td><td>4</td><td>0</td>", index, StringComparison.Ordinal);

        // The annual report of that year counts the same events in the same month.
        var report = await GetJsonAsync(anonymous, $"/transparency/report/{earlier.Year}.json");
        Assert.Equal(earlier.Year, report.GetProperty("year").GetInt32());
        var reportMonths = report.GetProperty("months").EnumerateArray().ToList();
        Assert.Equal(12, reportMonths.Count);
        Assert.Equal($"{earlier.Year}-01", reportMonths[0].GetProperty("month").GetString());
        Assert.Equal(3, reportMonths[earlier.Month - 1].GetProperty("events").GetProperty("zone.entry").GetInt32());
        Assert.Equal("vtest", report.GetProperty("cameras")[0].GetProperty("id").GetString());
        Assert.Equal(30, report.GetProperty("retention")[0].GetProperty("retentionDays").GetInt32());
        var reportPage = WebUtility.HtmlDecode(await GetOkAsync(anonymous, $"/transparency/report/{earlier.Year}", "text/html"));
        Assert.Contains($"Annual report {earlier.Year}", reportPage, StringComparison.Ordinal);
        Assert.Contains("30 days: 1 camera", reportPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryPageAndExport_CarriesNoStreamUrlSnapshotBoxOrStaffName()
    {
        await using var server = await TestServer.StartAsync();
        // The string that must never appear: the sample's source as expanded and sealed in the store.
        var expandedSource = CivicLensHome.Resolve().Root + "/samples/vtest.avi";
        var dbs = server.Service<IDbContextFactory<CivicLensDb>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var sealedUrl = await db.Cameras.Where(c => c.Id == "vtest").Select(c => c.StreamUrlSealed).SingleAsync();
            Assert.Equal(expandedSource, server.Service<SecretBox>().OpenText(sealedUrl!, DistrictSync.StreamPurpose));
        }

        var id = Guid.NewGuid();
        var now = server.Service<TimeProvider>().GetUtcNow();
        await IngestAsync(await NodeAsync(server), new
        {
            id,
            kind = "vehicle.stationary",
            phase = "start",
            camera = "vtest",
            rule = "service-road-parking",
            category = "illegal-parking",
            at = now,
            label = "car",
            confidence = 0.8,
            box = "613,47,121,58",
            detail = "stood 31 s",
        });
        const string SnapshotName = "vtest-7f3c21d9e0a4-service-road-parking.jpg";
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var e = await db.Events.SingleAsync(x => x.Id == id);
            e.Snapshot = SnapshotName;
            await db.SaveChangesAsync();
        }

        await server.Service<AuditLog>().AppendAsync(new AuditEntry("investigator-jane", "reveal", "ok", "event:" + id, "case 2026/14"), CancellationToken.None);
        var anonymous = server.Client();

        var forbidden = new[] { expandedSource, "vtest.avi", "rtsp://", SnapshotName, "7f3c21d9e0a4", "613,47,121,58", "stood 31 s", "investigator-jane", "case 2026/14", id.ToString(), "\"admin\"", "node-1" };
        foreach (var url in PublicRoutes.Concat([$"/transparency/report/{now.Year}", $"/transparency/report/{now.Year}.json"]))
        {
            using var response = await anonymous.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode}");
            var body = await response.Content.ReadAsStringAsync();
            var decoded = WebUtility.HtmlDecode(body);
            foreach (var f in forbidden)
            {
                Assert.False(body.Contains(f, StringComparison.OrdinalIgnoreCase) || decoded.Contains(f, StringComparison.OrdinalIgnoreCase), $"{url} contains '{f}'");
            }

            Assert.DoesNotContain("snapshot", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("/api/", body, StringComparison.Ordinal);
        }

        // The event was counted, so the register did read it: it only shows the count.
        var statistics = await GetJsonAsync(anonymous, "/transparency/statistics.json");
        Assert.Equal(1, statistics.GetProperty("months")[11].GetProperty("events").GetProperty("vehicle.stationary").GetInt32());
    }

    [Fact]
    public async Task OnlyTheRegister_IsReachableWithoutLogin()
    {
        await using var server = await TestServer.StartAsync();
        var anonymous = server.Client();

        foreach (var url in PublicRoutes)
        {
            using var response = await anonymous.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode}");
        }

        foreach (var url in new[] { "/api/events", "/api/cameras", "/api/cameras/vtest", "/api/areas", "/api/sites", "/api/departments", "/api/cases", "/api/users", "/api/keys", "/api/audit", "/api/auth/me", "/api/openapi/v1.json", "/api/events/" + Guid.NewGuid() + "/snapshot" })
        {
            using var response = await anonymous.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{url}: {(int)response.StatusCode}, expected 401");
        }

        using var ingest = await anonymous.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event("zone.entry", server.Service<TimeProvider>().GetUtcNow()) } });
        Assert.Equal(HttpStatusCode.Unauthorized, ingest.StatusCode);

        // From the endpoint table: everything that allows anonymous callers is the public surface (the register GET only) or the login.
        foreach (var endpoint in server.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var anonymousAllowed = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [];
            if (pattern.StartsWith("/transparency", StringComparison.Ordinal))
            {
                Assert.True(anonymousAllowed, $"{pattern} must be public");
                Assert.Equal(["GET"], methods);
            }
            else
            {
                Assert.True(!anonymousAllowed || pattern == "/api/auth/login" || PublicSurface.IsPublic(pattern), $"{pattern} is reachable without login");
            }
        }
    }

    private static string Neutralised(string text) => text.Length > 0 && text[0] is '=' or '+' or '-' or '@' ? "'" + text : text;

    private static object Event(string kind, DateTimeOffset at) => new
    {
        id = Guid.NewGuid(),
        kind,
        phase = "instant",
        camera = "vtest",
        rule = "works-area-entry",
        category = "works-safety",
        at,
        confidence = 0.7,
    };

    private static async Task<HttpClient> NodeAsync(TestServer server)
    {
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        return node;
    }

    private static async Task IngestAsync(HttpClient node, params object[] events)
    {
        using var posted = await node.PostAsJsonAsync("/api/ingest/events", new { events });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
    }

    private static async Task AddCameraAsync(TestServer server, Camera camera)
    {
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        db.Cameras.Add(camera);
        await db.SaveChangesAsync();
    }

    private static async Task<string> GetOkAsync(HttpClient client, string url, string mediaType)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string url) =>
        JsonDocument.Parse(await GetOkAsync(client, url, "application/json")).RootElement;

    /// <summary>RFC 4180, independently of the server's writer: quoted fields, doubled quotes, CRLF records.</summary>
    private static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.True(cell.Length == 0, $"a quote inside an unquoted field at {i}");
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\r')
            {
                Assert.True(i + 1 < text.Length && text[i + 1] == '\n', "records end with CRLF");
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                Assert.True(c != '\n', $"a bare line feed outside quotes at {i}");
                cell.Append(c);
            }
        }

        Assert.False(quoted, "an unterminated quoted field");
        Assert.True(cell.Length == 0 && row.Count == 0, "the last record ends with CRLF");
        return rows;
    }
}
