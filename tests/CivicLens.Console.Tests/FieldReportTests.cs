using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// Issue 6's "done when", in a phone-sized browser: a citizen reports with the phone's location and a real photo;
/// the report reaches the right department by email (a real SMTP sink), shows as a case at the same site as the
/// camera's events, and its status is visible to the reporter. A report made offline waits on the phone and is
/// sent, once, when the connection returns.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class FieldReportTests(ConsoleFixture server)
{
    // Inside the sample district's plaza (the site the sample camera watches).
    private static readonly Geolocation Plaza = new() { Latitude = 53.8008f, Longitude = -1.5495f, Accuracy = 10 };

    private Task<(IBrowserContext Context, IPage Page, List<string> Errors)> PhoneAsync() => server.NewPageAsync(390, 844, o =>
    {
        o.IsMobile = true;
        o.HasTouch = true;
        o.Geolocation = Plaza;
        o.Permissions = ["geolocation"];
    });

    /// <summary>The latest waste reports (as staff read them) with one of these descriptions.</summary>
    private static async Task<JsonElement[]> WasteReportsAsync(HttpClient op, params string[] descriptions)
    {
        var list = await op.GetFromJsonAsync<JsonElement>("/api/reports?category=waste&limit=200");
        return list.GetProperty("items").EnumerateArray().Where(r => descriptions.Contains(r.GetProperty("description").GetString())).ToArray();
    }

    private static async Task FillAsync(IPage page, string description, bool photo)
    {
        await page.SelectOptionAsync("#category", "waste");
        await page.ClickAsync("#locate");
        await Assertions.Expect(page.Locator("#place")).ToContainTextAsync("Your location");
        await page.FillAsync("#description", description);
        if (photo) await page.SetInputFilesAsync("#photo", TestAssets.Still("person.jpg"));
    }

    [Fact]
    public async Task PhoneReport_WithLocationAndPhoto_ReachesTheDepartmentByEmail_ShowsAsCaseAtTheSite_AndItsStatusIsPublic()
    {
        var (context, page, errors) = await PhoneAsync();
        await using var _ = context;
        await page.GotoAsync("/report");
        await page.Locator("#report").WaitForAsync();
        Assert.EndsWith("/console/report/", page.Url, StringComparison.Ordinal);
        Assert.True(await page.Locator("#contact-box").IsVisibleAsync(), "a citizen may leave a contact");
        var description = "Bags of rubbish dumped by the plaza bench " + Guid.NewGuid().ToString("N")[..6];
        await FillAsync(page, description, photo: true);
        await ConsoleFixture.ShotAsync(page, "report-form-phone");
        await page.ClickAsync("#send");
        await page.Locator("#done").WaitForAsync(new() { Timeout = 120_000 });
        await ConsoleFixture.ShotAsync(page, "report-sent-phone");
        var statusUrl = await page.GetAttributeAsync("#status-link", "href");
        Assert.Contains("/status/", statusUrl, StringComparison.Ordinal);

        // The case: routed to street cleaning, at the plaza, beside the sample camera's events.
        var op = await server.ViewerApiAsync("report-reader");
        var report = Assert.Single(await WasteReportsAsync(op, description));
        Assert.Equal("plaza", report.GetProperty("site").GetString());
        Assert.Equal(1, report.GetProperty("photos").GetArrayLength());
        var caseId = report.GetProperty("caseId").GetInt64();
        var c = await op.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.Equal("sanitation", c.GetProperty("department").GetString());
        Assert.Equal("plaza", c.GetProperty("site").GetString());
        var cameraEvents = await op.GetFromJsonAsync<JsonElement>("/api/events?limit=5");
        Assert.Contains(cameraEvents.GetProperty("items").EnumerateArray(), e => e.GetProperty("site").GetString() == "plaza");

        // The department's mailbox gets it by email, naming the case and nothing about the reporter.
        await Eventually.TrueAsync(() => server.Mail.Messages().Any(m => m.Recipients.Contains("waste@sample-district.example") && m.Text.Contains($"case {caseId}", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), $"the email for case {caseId} at waste@sample-district.example");

        // The reporter follows it without an account.
        await page.GotoAsync(statusUrl!);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Dumped rubbish");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Street Cleaning and Waste");
        await ConsoleFixture.ShotAsync(page, "report-status-phone");
        Assert.DoesNotContain(description, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task PhoneReport_MadeOffline_WaitsOnThePhone_AndIsSentOnceWhenBackOnline()
    {
        var (context, page, errors) = await PhoneAsync();
        await using var _ = context;
        await page.GotoAsync("/console/report/");
        await page.Locator("#report").WaitForAsync();
        var description = "Offline report " + Guid.NewGuid().ToString("N")[..8];
        await FillAsync(page, description, photo: false);
        await context.SetOfflineAsync(true);
        await page.ClickAsync("#send");
        await Assertions.Expect(page.Locator("#queue")).ToContainTextAsync("saved on this phone");
        var op = await server.ViewerApiAsync("report-reader");
        async Task<int> CountAsync() => (await WasteReportsAsync(op, description)).Length;

        Assert.Equal(0, await CountAsync());
        await context.SetOfflineAsync(false);
        await Assertions.Expect(page.Locator("#mine-list")).ToContainTextAsync("Dumped rubbish", new() { Timeout = 60_000 });
        Assert.Equal(1, await CountAsync());
        // A reload flushes again; the queue is empty and nothing is sent twice.
        await page.ReloadAsync();
        await page.Locator("#report").WaitForAsync();
        Assert.Equal(1, await CountAsync());
        Assert.DoesNotContain(errors, e => !e.Contains("ERR_INTERNET_DISCONNECTED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StaffReports_WhoseSessionEnded_OfflineOrWhileTheFormWasOpen_WaitForTheNextSignIn_AndAreThenSentAsStaffReports()
    {
        await server.EnsureAccountAsync("patrol-2", Roles.Viewer);
        var (context, page, errors) = await PhoneAsync();
        await using var _ = context;
        await server.LoginAsync(page, "patrol-2");
        await page.GotoAsync("/report/");
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("staff report");
        var offline = "Patrol report made offline " + Guid.NewGuid().ToString("N")[..8];
        await FillAsync(page, offline, photo: false);
        await context.SetOfflineAsync(true);
        await page.ClickAsync("#send");
        await Assertions.Expect(page.Locator("#queue")).ToContainTextAsync("saved on this phone");

        // The session ends while the phone is offline; back online, the server refuses the report (401) and the phone
        // keeps it instead of dropping it, and says why.
        await context.ClearCookiesAsync();
        await context.SetOfflineAsync(false);
        await Assertions.Expect(page.Locator("#queue")).ToContainTextAsync("wait for you to sign in again", new() { Timeout = 60_000 });

        // A second report sent online with the session gone is kept the same way.
        await page.ClickAsync("#another");
        var online = "Patrol report after the session ended " + Guid.NewGuid().ToString("N")[..8];
        await FillAsync(page, online, photo: false);
        await page.ClickAsync("#send");
        await Assertions.Expect(page.Locator("#done-text")).ToContainTextAsync("sent once you sign in again");
        await Assertions.Expect(page.Locator("#queue")).ToContainTextAsync("2 report(s) saved on this phone wait for you to sign in again");
        var op = await server.ViewerApiAsync("report-reader");
        Assert.Empty(await WasteReportsAsync(op, offline, online));

        // Signed in again, the form sends both, once each, as the officer's staff reports.
        await server.LoginAsync(page, "patrol-2");
        await page.GotoAsync("/report/");
        await Assertions.Expect(page.Locator("#mine-list li")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        var sent = await WasteReportsAsync(op, offline, online);
        Assert.Equal(2, sent.Length);
        Assert.All(sent, r => Assert.Equal("staff", r.GetProperty("source").GetString()));
        Assert.DoesNotContain(errors, e => !e.Contains("ERR_INTERNET_DISCONNECTED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StaffReport_FromALoggedInPatrolOfficer_IsAStaffReportWithoutAContactField()
    {
        await server.EnsureAccountAsync("patrol-1", Roles.Viewer);
        var (context, page, _) = await PhoneAsync();
        await using var __ = context;
        await server.LoginAsync(page, "patrol-1");
        await page.GotoAsync("/report/");
        await page.Locator("#report").WaitForAsync();
        await Assertions.Expect(page.Locator("#who")).ToContainTextAsync("staff report");
        Assert.False(await page.Locator("#contact-box").IsVisibleAsync());
        var description = "Patrol report " + Guid.NewGuid().ToString("N")[..8];
        await FillAsync(page, description, photo: false);
        await page.ClickAsync("#send");
        await page.Locator("#done").WaitForAsync(new() { Timeout = 60_000 });
        var op = await server.ViewerApiAsync("report-reader");
        var r = Assert.Single(await WasteReportsAsync(op, description));
        Assert.Equal("staff", r.GetProperty("source").GetString());
    }
}
