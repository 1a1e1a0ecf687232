using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cases;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Server.Tests;

/// <summary>Field reports end to end on the real server: intake, photos, routing, cases, duplicates, SLAs, the public status (camera verification: CaseVerificationTests).</summary>
public sealed class ReportTests
{
    // Places in the sample district (samples/vtest.yaml): the plaza (campus ward), riverside ward, and far away.
    public const double PlazaLat = 53.8008, PlazaLon = -1.5495;
    public const double RiversideLat = 53.8000, RiversideLon = -1.5420;

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static MultipartFormDataContent Form(string? category, double? lat, double? lon, string? description = null, byte[]? photo = null, string? contact = null,
        string photoName = "IMG_0001.jpg", string? photoType = "image/jpeg")
    {
        var form = new MultipartFormDataContent();
        if (category is not null) form.Add(new StringContent(category), "category");
        if (lat is not null) form.Add(new StringContent(lat.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), "latitude");
        if (lon is not null) form.Add(new StringContent(lon.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), "longitude");
        if (description is not null) form.Add(new StringContent(description), "description");
        if (contact is not null) form.Add(new StringContent(contact), "contact");
        if (photo is not null)
        {
            var part = new ByteArrayContent(photo);
            if (photoType is not null) part.Headers.ContentType = new MediaTypeHeaderValue(photoType);
            form.Add(part, "photo", photoName);
        }

        return form;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) => await r.Content.ReadFromJsonAsync<JsonElement>(Web);

    [Fact]
    public async Task Submit_StaffReportWithRealPhoto_RoutesToTheAreasDepartment_StoresRedactedPhoto_AndQueuesTheEmail()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var photo = await File.ReadAllBytesAsync(TestAssets.Still("person.jpg"));
        var r = await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "Bags dumped beside the bench", photo));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var body = await Json(r);
        Assert.Equal("sanitation", body.GetProperty("department").GetString());
        var caseId = body.GetProperty("caseId").GetInt64();
        var token = body.GetProperty("token").GetString()!;
        Assert.EndsWith("/status/" + token, body.GetProperty("statusUrl").GetString(), StringComparison.Ordinal);

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var report = await db.Reports.Include(x => x.Photos).SingleAsync();
        Assert.Equal("plaza", report.SiteId);
        Assert.Equal("campus", report.AreaId);
        var stored = Path.Combine(server.Options.DataDirectory, "reports", report.Photos.Single().FileName);
        var bytes = await File.ReadAllBytesAsync(stored);
        Assert.Equal(0xFF, bytes[0]);
        Assert.Equal(0xD8, bytes[1]);
        Assert.DoesNotContain("Exif", System.Text.Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
        Assert.NotEqual(photo.Length, bytes.Length);
        Assert.DoesNotContain("IMG_0001", report.Photos.Single().FileName, StringComparison.Ordinal);

        var c = await db.Cases.SingleAsync(x => x.Id == caseId);
        Assert.Equal("sanitation", c.DepartmentId);
        Assert.NotNull(c.AcknowledgeDueAt);
        Assert.Equal(c.OpenedAt + (long)TimeSpan.FromHours(48).TotalMilliseconds, c.DueAt);
        var mail = await db.Outbox.SingleAsync(o => o.Channel == "email:sanitation");
        var notice = JsonSerializer.Deserialize<DepartmentNotice>(mail.Payload, Web)!;
        Assert.Equal(caseId, notice.CaseId);
        Assert.Equal("case.opened", notice.Kind);
        Assert.Equal("Dumped rubbish", notice.CategoryName);
        Assert.DoesNotContain("@", mail.Payload.Replace("sample-district.example", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // Staff read it; the photo is an attachment that is never sniffed, and viewing it is audited.
        var op = await server.StaffAsync(Roles.Operator);
        var view = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}", Web);
        Assert.Equal(1, view.GetProperty("reports").GetArrayLength());
        var photoId = view.GetProperty("reports")[0].GetProperty("photos")[0].GetProperty("id").GetInt64();
        var p = await patrol.GetAsync($"/api/reports/{report.Id}/photos/{photoId}");
        Assert.Equal(HttpStatusCode.OK, p.StatusCode);
        Assert.Equal("image/jpeg", p.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", p.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("nosniff", p.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.True(await db.Audit.AnyAsync(a => a.Action == "report.photo.view"));
    }

    [Fact]
    public async Task Submit_PhotoTakenFarFromThePin_IsFiledWithAWarningAndAFlag_AndItsPositionIsNotKept()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var still = await File.ReadAllBytesAsync(TestAssets.Still("person.jpg"));
        // The phone's photo says Amsterdam; the pin is on the plaza.
        var far = ExifBytes.WithExif(still, ExifBytes.Tiff(little: true, 52.3702, 4.8952, "2026:11:23 09:15:00", "+00:00"));
        var r = await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "Bags by the bench", far));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var warning = Assert.Single((await Json(r)).GetProperty("warnings").EnumerateArray()).GetString();
        Assert.Contains("km from the pin", warning, StringComparison.Ordinal);

        // Filed where the reporter put the pin and flagged for the operator; the photo's own position is gone.
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var report = await db.Reports.Include(x => x.Photos).SingleAsync();
        Assert.Equal("photo-far-from-pin", report.Flags);
        Assert.Equal((PlazaLat, PlazaLon), (report.Latitude, report.Longitude));
        var stored = await File.ReadAllBytesAsync(Path.Combine(server.Options.DataDirectory, "reports", report.Photos.Single().FileName));
        Assert.DoesNotContain("Exif", System.Text.Encoding.Latin1.GetString(stored), StringComparison.Ordinal);

        // A photo taken at the pin raises nothing.
        var near = ExifBytes.WithExif(still, ExifBytes.Tiff(little: false, PlazaLat, PlazaLon, "2026:11:23 09:20:00", "+00:00"));
        var ok = await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "More bags by the bench", near));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        Assert.Equal(0, (await Json(ok)).GetProperty("warnings").GetArrayLength());
    }

    [Fact]
    public async Task Submit_InAnAreaWithItsOwnDepartment_GoesThere_AndOutsideEveryArea_IsRefusedClearly()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var r = await patrol.PostAsync("/api/reports", Form("waste", RiversideLat, RiversideLon, "Fly-tipped mattress"));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        Assert.Equal("sanitation-riverside", (await Json(r)).GetProperty("department").GetString());

        var far = await patrol.PostAsync("/api/reports", Form("waste", 51.5, -0.12));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, far.StatusCode);
        Assert.Contains("outside the areas this city serves", (await Json(far)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var noCategory = await patrol.PostAsync("/api/reports", Form(null, PlazaLat, PlazaLon));
        Assert.Equal(HttpStatusCode.BadRequest, noCategory.StatusCode);
        var problem = await Json(noCategory);
        Assert.Equal("category", problem.GetProperty("field").GetString());
        Assert.Contains("waste", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var noPlace = await patrol.PostAsync("/api/reports", Form("waste", null, null));
        Assert.Equal(HttpStatusCode.BadRequest, noPlace.StatusCode);
        Assert.Contains("pin", (await Json(noPlace)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task Submit_PhotoThatIsNotAnImage_IsRefusedNamingThePhoto_AndLeavesNothing()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var html = "<html><script>alert(1)</script></html>"u8.ToArray();
        var r = await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "bins", html, photoName: "evil.jpg"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var problem = await Json(r);
        Assert.Equal("photo", problem.GetProperty("field").GetString());
        Assert.Contains("evil.jpg", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(0, await db.Reports.CountAsync());
        Assert.Equal(0, await db.Cases.CountAsync());
        var dir = Path.Combine(server.Options.DataDirectory, "reports");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Length == 0);
    }

    [Fact]
    public async Task Submit_RetriedWithTheSameIdempotencyKey_CreatesOneReport_AndAReusedKeyWithOtherContentIsAConflict()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        async Task<HttpResponseMessage> Send(string description)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/api/reports") { Content = Form("graffiti", PlazaLat, PlazaLon, description) };
            req.Headers.Add("Idempotency-Key", "phone-7f3a-0001");
            return await patrol.SendAsync(req);
        }

        var first = await Send("Posters on the lamp post");
        var again = await Task.WhenAll(Send("Posters on the lamp post"), Send("Posters on the lamp post"));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var id = (await Json(first)).GetProperty("id").GetInt64();
        foreach (var r in again)
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var b = await Json(r);
            Assert.Equal(id, b.GetProperty("id").GetInt64());
            Assert.True(b.GetProperty("replayed").GetBoolean());
        }

        var other = await Send("Something else entirely");
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.Reports.CountAsync());
        Assert.Equal(1, await db.Cases.CountAsync());
    }

    [Fact]
    public async Task Submit_WhenTheAuditWriteFails_NothingIsStored_AndTheRetryStoresItWhole()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var photo = await File.ReadAllBytesAsync(TestAssets.Still("person.jpg"));
        async Task<HttpResponseMessage> Send()
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "/api/reports") { Content = Form("waste", PlazaLat, PlazaLon, "Bags by the bench", photo) };
            req.Headers.Add("Idempotency-Key", "phone-7f3a-0002");
            return await patrol.SendAsync(req);
        }

        // The audit store refuses the line that records the report (a real refusal by the database): the audit
        // record is written in the report's own transaction, so the report, its case and its notices roll back too.
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        await db.Database.ExecuteSqlRawAsync(
            "CREATE TRIGGER refuse_report_audit BEFORE INSERT ON audit WHEN NEW.action = 'report.submit' BEGIN SELECT RAISE(ABORT, 'audit refused'); END;");
        var failed = await Send();
        Assert.True((int)failed.StatusCode >= 500, $"the failed submission answered {(int)failed.StatusCode}");
        await db.Database.ExecuteSqlRawAsync("DROP TRIGGER refuse_report_audit;");
        Assert.Equal(0, await db.Reports.CountAsync());
        Assert.Equal(0, await db.Cases.CountAsync());
        Assert.Equal(0, await db.Outbox.CountAsync());
        Assert.Empty(Directory.Exists(server.Options.ReportPhotoDirectory)
            ? Directory.EnumerateFiles(server.Options.ReportPhotoDirectory, "*.jpg", SearchOption.AllDirectories) : []);

        // The phone's retry stores the report whole, photo and audit record included.
        var retry = await Send();
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        var report = await db.Reports.AsNoTracking().Include(x => x.Photos).SingleAsync();
        Assert.Equal(report.Id, (await Json(retry)).GetProperty("id").GetInt64());
        Assert.True(File.Exists(Path.Combine(server.Options.DataDirectory, "reports", report.Photos.Single().FileName)), "the stored report's photo is missing");
        Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "report.submit" && a.Target == "report:" + report.Id));
    }

    [Fact]
    public async Task PublicReport_WithoutAccount_IsFollowedOnTheStatusPage_WhichShowsNothingAboutTheReporter()
    {
        await using var server = await TestServer.StartAsync();
        var citizen = server.Client();
        var r = await citizen.PostAsync("/public/reports", Form("waste", PlazaLat, PlazaLon, "Sofa left by the bins, call me", contact: "resident@example.org"));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var answer = await Json(r);
        var token = answer.GetProperty("token").GetString()!;
        // A citizen's answer names no internal case and no cases nearby.
        Assert.False(answer.TryGetProperty("caseId", out _));
        Assert.Equal(0, answer.GetProperty("possibleDuplicates").GetArrayLength());

        var status = await citizen.GetFromJsonAsync<JsonElement>($"/api/public/reports/{token}", Web);
        Assert.Equal("Received", status.GetProperty("status").GetString());
        Assert.Equal("Street Cleaning and Waste", status.GetProperty("department").GetString());
        var page = await citizen.GetAsync($"/status/{token}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Dumped rubbish", html, StringComparison.Ordinal);
        foreach (var secret in new[] { "resident@example.org", "call me", "Sofa" }) Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());

        // The contact is stored sealed, and only an operator may open it (audited).
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var report = await db.Reports.SingleAsync();
        Assert.DoesNotContain("resident", report.ContactSealed!, StringComparison.Ordinal);
        var viewer = await server.StaffAsync(Roles.Viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync($"/api/reports/{report.Id}/contact")).StatusCode);
        var op = await server.StaffAsync(Roles.Operator);
        Assert.Equal("resident@example.org", await op.GetFromJsonAsync<string>($"/api/reports/{report.Id}/contact"));

        // The operator moves the case on: the reporter sees it, without the operator's note.
        var c = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{report.CaseId}", Web);
        var moved = await op.PostAsJsonAsync($"/api/cases/{report.CaseId}/transition", new { state = "in_progress", version = c.GetProperty("version").GetInt32(), note = "crew 4 (Smith)" });
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        var after = await citizen.GetStringAsync($"/status/{token}");
        Assert.Contains("Being fixed", after, StringComparison.Ordinal);
        Assert.DoesNotContain("Smith", after, StringComparison.Ordinal);

        // A long note (and an arrow inside it) changes nothing about which step the reporter sees.
        c = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{report.CaseId}", Web);
        var note = "bins moved -> depot; " + new string('x', 600);
        Assert.Equal(HttpStatusCode.OK, (await op.PostAsJsonAsync($"/api/cases/{report.CaseId}/transition", new { state = "fixed", version = c.GetProperty("version").GetInt32(), note })).StatusCode);
        var steps = (await citizen.GetFromJsonAsync<JsonElement>($"/api/public/reports/{token}", Web)).GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(3, steps.Count);
        Assert.DoesNotContain("depot", await citizen.GetStringAsync($"/status/{token}"), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await citizen.GetAsync("/status/AAAAAAAAAAAAAAAAAAAAAA")).StatusCode);
        var bot = Form("waste", PlazaLat, PlazaLon, "spam");
        bot.Add(new StringContent("http://spam.example"), "website");
        Assert.Equal(HttpStatusCode.BadRequest, (await citizen.PostAsync("/public/reports", bot)).StatusCode);
        Assert.Equal(1, await db.Reports.CountAsync());
    }

    [Fact]
    public async Task Duplicate_NearbyReportOfTheSameCategory_IsSuggested_AndMergedOnlyOnConfirmation()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var first = await Json(await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "bags")));
        var second = await Json(await patrol.PostAsync("/api/reports", Form("waste", PlazaLat + 0.0001, PlazaLon, "more bags")));
        var other = await Json(await patrol.PostAsync("/api/reports", Form("graffiti", PlazaLat, PlazaLon, "posters")));
        var firstCase = first.GetProperty("caseId").GetInt64();
        var secondCase = second.GetProperty("caseId").GetInt64();
        Assert.Equal([firstCase], second.GetProperty("possibleDuplicates").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(0, other.GetProperty("possibleDuplicates").GetArrayLength());

        var op = await server.StaffAsync(Roles.Operator);
        var suggestions = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{secondCase}/suggestions", Web);
        Assert.Equal(firstCase, suggestions[0].GetProperty("targetCaseId").GetInt64());
        Assert.InRange(suggestions[0].GetProperty("metres").GetDouble(), 5, 20);
        var c = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{secondCase}", Web);
        var merge = await op.PostAsJsonAsync($"/api/cases/{secondCase}/merge", new { into = firstCase, version = c.GetProperty("version").GetInt32() });
        Assert.Equal(HttpStatusCode.OK, merge.StatusCode);
        var survivor = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{firstCase}", Web);
        Assert.Equal(2, survivor.GetProperty("reports").GetArrayLength());
        var gone = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{secondCase}", Web);
        Assert.Equal("closed", gone.GetProperty("state").GetString());
        Assert.Equal(firstCase, gone.GetProperty("mergedInto").GetInt64());
        // The second reporter follows the case that survives (open), not the merged one (closed): on the public
        // status and in Open311.
        using var citizen = server.Client();
        var status = await citizen.GetFromJsonAsync<JsonElement>($"/api/public/reports/{second.GetProperty("token").GetString()}", Web);
        Assert.Equal("open", status.GetProperty("state").GetString());
        var open311 = await citizen.GetFromJsonAsync<JsonElement>($"/open311/v2/requests/{second.GetProperty("id").GetInt64()}.json", Web);
        Assert.Equal("open", open311[0].GetProperty("status").GetString());
        var graffitiCase = other.GetProperty("caseId").GetInt64();
        var g = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{graffitiCase}", Web);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsJsonAsync($"/api/cases/{graffitiCase}/merge", new { into = firstCase, version = g.GetProperty("version").GetInt32() })).StatusCode);
    }

    [Fact]
    public async Task Sla_UnacknowledgedCase_IsEscalatedOnce_ToTheEscalationDepartment()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        var caseId = (await Json(await patrol.PostAsync("/api/reports", Form("illegal-parking", PlazaLat, PlazaLon, "car in the fire lane")))).GetProperty("caseId").GetInt64();
        var watch = server.App.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SlaWatch>().Single();
        Assert.Equal(0, await watch.RunOnceAsync(CancellationToken.None));
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            var c = await db.Cases.SingleAsync(x => x.Id == caseId);
            c.AcknowledgeDueAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();
            await db.SaveChangesAsync();
        }

        Assert.Equal(1, await watch.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await watch.RunOnceAsync(CancellationToken.None));
        await using var check = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var escalated = await check.Cases.Include(x => x.History).SingleAsync(x => x.Id == caseId);
        Assert.Equal("acknowledge", escalated.EscalatedFor);
        Assert.Equal("parking", escalated.DepartmentId);
        Assert.Contains(escalated.History, h => h.Change.Contains("escalated to public-space", StringComparison.Ordinal));
        var notice = await check.Outbox.SingleAsync(o => o.Channel == "email:public-space");
        Assert.Contains("case.escalated", notice.Payload, StringComparison.Ordinal);
        var op = await server.StaffAsync(Roles.Operator);
        var view = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}", Web);
        Assert.Equal("acknowledge", view.GetProperty("breach").GetString());
        // A change's answer (and its live push, the same view) says so too, not only a fresh read.
        var assigned = await op.PostAsJsonAsync($"/api/cases/{caseId}/assign", new { userName = (string?)null, version = view.GetProperty("version").GetInt32() });
        Assert.Equal(HttpStatusCode.OK, assigned.StatusCode);
        Assert.Equal("acknowledge", (await assigned.Content.ReadFromJsonAsync<JsonElement>(Web)).GetProperty("breach").GetString());
    }

    [Fact]
    public async Task ServiceReport_CountsPerDepartmentAndCategory_AsJsonAndCsv()
    {
        await using var server = await TestServer.StartAsync();
        var patrol = await server.StaffAsync(Roles.Viewer);
        await patrol.PostAsync("/api/reports", Form("waste", PlazaLat, PlazaLon, "a"));
        await patrol.PostAsync("/api/reports", Form("waste", RiversideLat, RiversideLon, "b"));
        var third = await Json(await patrol.PostAsync("/api/reports", Form("waste", PlazaLat + 0.003, PlazaLon, "c")));
        var op = await server.StaffAsync(Roles.Operator);
        var c = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{third.GetProperty("caseId").GetInt64()}", Web);
        await op.PostAsJsonAsync($"/api/cases/{c.GetProperty("id").GetInt64()}/transition", new { state = "acknowledged", version = c.GetProperty("version").GetInt32() });
        var rows = await op.GetFromJsonAsync<JsonElement>("/api/service-report", Web);
        var sanitation = rows.EnumerateArray().Single(r => r.GetProperty("department").GetString() == "sanitation");
        Assert.Equal(2, sanitation.GetProperty("cases").GetInt32());
        Assert.Equal(1, sanitation.GetProperty("acknowledged").GetInt32());
        Assert.Equal(2, sanitation.GetProperty("fromReports").GetInt32());
        var csv = await op.GetAsync("/api/service-report?format=csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Trim().Split('\n');
        Assert.StartsWith("department,category,cases", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("\"sanitation-riverside\",\"waste\",1,", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, (await op.GetAsync("/api/service-report?format=pdf")).StatusCode);
    }
}
