using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The console in a real browser against the real server with the sample camera running: login with a second
/// factor, events arriving live on the map and in the feed, a case taken through to closed, a viewer kept out of
/// admin pages, an edit that survives an expired session, and the public links.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(ConsoleFixture server)
{
    private static readonly TimeSpan EventWait = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Login_OperatorWithSecondFactor_SeesSampleCameraEventsArriveLiveOnMapAndFeed()
    {
        await server.EnsureAccountAsync("op-live", Roles.Operator);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync("/");
        // The root sends a newcomer to the console's login page.
        await page.Locator("#login-form").WaitForAsync();
        Assert.EndsWith("/console/#/login", page.Url, StringComparison.Ordinal);
        await ConsoleFixture.ShotAsync(page, "login");
        await page.FillAsync("#username", "op-live");
        await page.FillAsync("#password", ConsoleFixture.StaffPassword);
        await page.ClickAsync("#login-submit");
        // First login of an operator: the page shows the secret to enrol.
        await page.Locator("#enrol-secret").WaitForAsync();
        await ConsoleFixture.ShotAsync(page, "login-enrol");
        await page.FillAsync("#password", ConsoleFixture.StaffPassword);
        await server.LoginAsync(page, "op-live", navigate: false);
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        Assert.Equal("1", await page.GetAttributeAsync("#map", "data-cameras"));
        await Assertions.Expect(page.Locator("#live-state")).ToHaveTextAsync("live", new() { Timeout = 30_000 });

        // Events that arrive after the page loaded come over the live connection.
        var before = await page.Locator("#feed li.ev").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.id)");
        var fresh = page.Locator("#feed li.ev[data-camera='vtest']").Filter(new() { HasNot = page.Locator(string.Join(",", before.Select(id => $"[data-id='{id}']").DefaultIfEmpty("#none"))) });
        await fresh.First.WaitForAsync(new() { Timeout = (float)EventWait.TotalMilliseconds });
        await Assertions.Expect(page.Locator("#map")).Not.ToHaveAttributeAsync("data-incidents", "0", new() { Timeout = 30_000 });

        // The first event with evidence shows its redacted snapshot.
        var withEvidence = page.Locator("#feed li.ev[data-camera='vtest']").First;
        await withEvidence.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("#detail-title").WaitForAsync();
        await ConsoleFixture.ShotAsync(page, "live");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Case_OpenedFromAnEvent_TakenThroughToClosed()
    {
        await server.EnsureAccountAsync("op-case", Roles.Operator);
        await WaitForEventsAsync();
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "op-case");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        var open = page.Locator("#feed li.ev[data-state='new'], #feed li.ev[data-state='acknowledged']").First;
        await open.WaitForAsync(new() { Timeout = (float)EventWait.TotalMilliseconds });
        await open.ClickAsync();
        await page.FillAsync("#case-title", "Van parked on the service road");
        await page.SelectOptionAsync("#case-department", "parking");
        await page.ClickAsync("#open-case");
        await page.Locator("body[data-ready='case']").WaitForAsync();
        await Assertions.Expect(page.Locator("#case-state")).ToHaveTextAsync("Open");
        await Assertions.Expect(page.Locator("#case-events li")).ToHaveCountAsync(1);
        await ConsoleFixture.ShotAsync(page, "case");

        foreach (var (to, label) in new[] { ("acknowledged", "Acknowledged"), ("in_progress", "In progress"), ("fixed", "Fixed") })
        {
            if (to == "fixed") await page.FillAsync("#case-note", "Vehicle moved on after a warning");
            await page.ClickAsync($"#move-{to}");
            await Assertions.Expect(page.Locator("#case-state")).ToHaveTextAsync(label);
        }

        await page.ClickAsync("#move-closed");
        await Assertions.Expect(page.Locator("#case-state")).ToHaveTextAsync("Closed");
        // A closed case is final: no more moves offered; the history has every step with the note.
        Assert.Equal(0, await page.Locator("[id^='move-']").CountAsync());
        var history = await page.Locator("#case-history li").AllTextContentsAsync();
        Assert.Equal(5, history.Count);
        Assert.Contains(history, h => h.Contains("fixed: Vehicle moved on after a warning", StringComparison.Ordinal));
        Assert.Contains(history, h => h.Contains("-> closed", StringComparison.Ordinal));

        await page.GotoAsync("/console/#/cases");
        await page.Locator("body[data-ready='cases']").WaitForAsync();
        await Assertions.Expect(page.Locator(".column[data-state='closed'] .card a", new() { HasText = "Van parked on the service road" })).ToHaveCountAsync(1);
        await ConsoleFixture.ShotAsync(page, "cases");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AdminPage_OpenedByViewer_ShowsNotForYourRolePage()
    {
        await server.EnsureAccountAsync("viewer-ui", Roles.Viewer);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "viewer-ui");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        // A viewer sees events but gets no buttons that change them, and no admin link.
        Assert.Equal(0, await page.Locator("#nav a[data-page='admin']").CountAsync());
        await page.GotoAsync("/console/#/admin");
        var forbidden = page.Locator("#forbidden");
        await forbidden.WaitForAsync();
        var text = await forbidden.TextContentAsync();
        Assert.Contains("Not for your role", text, StringComparison.Ordinal);
        Assert.Contains("viewer", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", await page.ContentAsync(), StringComparison.Ordinal);
        await ConsoleFixture.ShotAsync(page, "forbidden");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task MapFilters_NarrowTheIncidents_ByDepartmentTypeStateAndTime()
    {
        await server.EnsureAccountAsync("op-filters", Roles.Operator);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "op-filters");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#map")).Not.ToHaveAttributeAsync("data-incidents", "0", new() { Timeout = (float)EventWait.TotalMilliseconds });

        // The map also refreshes on its own (live events): wait for the request that carries the filter, not any one.
        async Task<string> Select(string filter, string value, Func<string, bool> carries)
        {
            var request = page.WaitForRequestAsync(r => r.Url.Contains("/api/map/incidents", StringComparison.Ordinal) && carries(Uri.UnescapeDataString(r.Url)));
            await page.SelectOptionAsync(filter, value);
            return Uri.UnescapeDataString((await request).Url);
        }

        Func<string, bool> Has(string parameter) => url => url.Contains(parameter, StringComparison.Ordinal);

        // The riverside contractor owns nothing at the plaza: its filter empties the map's incidents, not its cameras.
        await Select("#f-department", "sanitation-riverside", Has("department=sanitation-riverside"));
        await Assertions.Expect(page.Locator("#map")).ToHaveAttributeAsync("data-incidents", "0");
        Assert.Equal("1", await page.GetAttributeAsync("#map", "data-cameras"));
        await Select("#f-department", "", url => !url.Contains("department=", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator("#map")).Not.ToHaveAttributeAsync("data-incidents", "0");

        await Select("#f-category", "crowding", Has("category=crowding"));
        var narrowed = await Select("#f-state", "new", Has("state=new"));
        Assert.Contains("category=crowding", narrowed, StringComparison.Ordinal);
        var hour = await Select("#f-time", "1", Has("from="));
        Assert.Contains("state=new", hour, StringComparison.Ordinal);
        var from = DateTimeOffset.Parse(hour[(hour.IndexOf("from=", StringComparison.Ordinal) + 5)..].Split('&')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UtcNow - from, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Empty(errors);
    }

    /// <summary>
    /// A tablet in portrait (768x1024): every page a patrol supervisor uses fits the width (no sideways scrolling),
    /// the map and the feed stack and both stay usable, and the feed is worked with the keyboard.
    /// </summary>
    [Fact]
    public async Task Tablet_Portrait_PagesFitTheWidth_AndTheMapAndFeedStack()
    {
        await server.EnsureAccountAsync("op-tablet", Roles.Operator);
        var (context, page, errors) = await server.NewPageAsync(768, 1024);
        await using var _ = context;
        await server.LoginAsync(page, "op-tablet");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        var map = (await page.Locator("#map").BoundingBoxAsync())!;
        var feed = (await page.Locator("#feed").BoundingBoxAsync())!;
        Assert.True(map.Width > 700 && map.Height > 300, $"map {map.Width}x{map.Height}");
        Assert.True(feed.Y >= map.Y + map.Height, "the feed sits below the map on a portrait tablet");
        foreach (var (hash, ready) in new[] { ("#/", "live"), ("#/cases", "cases"), ("#/cameras", "cameras"), ("#/cameras/vtest", "camera") })
        {
            await page.GotoAsync("/console/" + hash);
            await page.Locator($"body[data-ready='{ready}']").WaitForAsync(new() { Timeout = 30_000 });
            var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
            var (scroll, inner) = (widths[0], widths[1]);
            Assert.True(scroll <= inner, $"{hash}: {scroll} px wide in a {inner} px window");
        }

        await page.GotoAsync("/console/#/");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await page.Locator("#feed li.ev").First.WaitForAsync(new() { Timeout = (float)EventWait.TotalMilliseconds });
        await page.Locator("#feed li.ev").First.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#detail-title")).ToBeFocusedAsync();
        await ConsoleFixture.ShotAsync(page, "live-tablet");
        Assert.Empty(errors);
    }

    /// <summary>
    /// The README's path for a newcomer: the first login is the admin's, who sees no events (separation of duties),
    /// is told how to reach them, creates an operator in the console, and that operator watches the feed.
    /// </summary>
    [Fact]
    public async Task Newcomer_AdminCreatesAnOperatorInTheConsole_WhoThenSeesTheSampleCameraLive()
    {
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.AdminAsync();
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await page.Locator("#no-events").WaitForAsync();
        Assert.Equal(0, await page.Locator("#feed").CountAsync());

        await page.ClickAsync("#create-operator");
        await page.Locator("body[data-ready='admin']").WaitForAsync();
        Assert.Contains("admin", await page.Locator("#users").TextContentAsync(), StringComparison.Ordinal);
        await page.FillAsync("#new-user", "desk");
        await page.FillAsync("#new-password", ConsoleFixture.StaffPassword);
        await page.SelectOptionAsync("#new-role", "operator");
        await page.ClickAsync("#new-user-form button[type='submit']");
        await Assertions.Expect(page.Locator("#users tbody tr").Filter(new() { HasText = "desk" })).ToContainTextAsync("operator");
        await ConsoleFixture.ShotAsync(page, "accounts");

        await page.ClickAsync("#logout");
        await page.Locator("#login-form").WaitForAsync();
        await server.LoginAsync(page, "desk", navigate: false);
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#live-state")).ToHaveTextAsync("live", new() { Timeout = 30_000 });
        await page.Locator("#feed li.ev[data-camera='vtest']").First.WaitForAsync(new() { Timeout = (float)EventWait.TotalMilliseconds });
        Assert.Equal("1", await page.GetAttributeAsync("#map", "data-cameras"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task SessionExpired_MidEdit_KeepsTheNoteAndSendsTheChangeAfterLogin()
    {
        await server.EnsureAccountAsync("op-expire", Roles.Operator);
        var eventId = await WaitForEventsAsync();
        var (context, page, _) = await server.NewPageAsync();
        await using var __ = context;
        var caseId = await OpenCaseOnItsPageAsync(page, "op-expire", eventId);
        await page.FillAsync("#case-note", "Crew on the way");
        // The session ends while the note is being written.
        await context.ClearCookiesAsync();
        await page.ClickAsync("#move-in_progress");
        await page.Locator("#login-form").WaitForAsync();
        await server.LoginAsync(page, "op-expire", navigate: false);
        // Back on the case, the change went through with its note.
        await page.Locator("body[data-ready='case']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#case-state")).ToHaveTextAsync("In progress");
        await Assertions.Expect(page.Locator("#case-history li").Last).ToContainTextAsync("open -> in_progress: Crew on the way");
        Assert.Equal("", await page.EvaluateAsync<string>($"() => sessionStorage.getItem('civiclens.draft.case-note-{caseId}') ?? ''"));
    }

    [Fact]
    public async Task SessionExpired_AnotherPersonLogsIn_TheKeptChangeIsDroppedNotSentInTheirName()
    {
        await server.EnsureAccountAsync("op-first", Roles.Operator);
        await server.EnsureAccountAsync("op-second", Roles.Operator);
        var eventId = await WaitForEventsAsync();
        var (context, page, _) = await server.NewPageAsync();
        await using var __ = context;
        var caseId = await OpenCaseOnItsPageAsync(page, "op-first", eventId);
        await context.ClearCookiesAsync();
        await page.ClickAsync("#move-in_progress");
        await page.Locator("#login-form").WaitForAsync();
        // Someone else takes the tab: the first operator's change is not theirs to send.
        await server.LoginAsync(page, "op-second", navigate: false);
        await Assertions.Expect(page.Locator("#toasts")).ToContainTextAsync("kept for another user", new() { Timeout = 30_000 });
        await page.GotoAsync($"/console/#/cases/{caseId}");
        await page.Locator("body[data-ready='case']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#case-state")).ToHaveTextAsync("Open");
    }

    [Fact]
    public async Task PublicPages_WithoutLogin_OnlyLoginAndRegisterAnswer()
    {
        var (context, page, _) = await server.NewPageAsync(820, 1180);
        await using var _ctx = context;
        // A tablet, not logged in: the login page with its public links, and nothing else.
        await page.GotoAsync("/console/#/cases");
        await page.Locator("#login-form").WaitForAsync();
        await page.ClickAsync("a[href='/transparency'] >> nth=0");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/transparency$"), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync("Plaza", new() { Timeout = 30_000 });
        var api = await page.APIRequest.GetAsync("/api/map/cameras?west=-2&south=53&east=-1&north=54&zoom=10");
        Assert.Equal(401, api.Status);
        await page.GotoAsync("/console/#/login");
        await page.FillAsync("#status-token", "abc123");
        await page.ClickAsync("#status-form button");
        // The address and the page's heading, not the load event: on a busy machine the event can be missed
        // (a navigation that finished before the wait began), the heading cannot.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/status/abc123$"), new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Report not found", new() { Timeout = 30_000 });
    }

    /// <summary>Logs <paramref name="user"/> in, turns the event into a case (through the API, as the page's button does) and opens the case's page.</summary>
    private async Task<long> OpenCaseOnItsPageAsync(IPage page, string user, Guid eventId)
    {
        await server.LoginAsync(page, user);
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        var caseId = await page.EvaluateAsync<long>(
            "async id => (await (await fetch(`/api/events/${id}/case`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json()).id", eventId.ToString());
        await page.GotoAsync($"/console/#/cases/{caseId}");
        await page.Locator("body[data-ready='case']").WaitForAsync();
        return caseId;
    }

    /// <summary>Waits until the sample camera produced an open event; returns one.</summary>
    private async Task<Guid> WaitForEventsAsync()
    {
        var viewer = await server.ViewerApiAsync("viewer-api");
        var found = Guid.Empty;
        await Eventually.TrueAsync(async () =>
        {
            var page = await viewer.GetFromJsonAsync<JsonElement>("/api/events?state=new&limit=20");
            var first = page.GetProperty("items").EnumerateArray().FirstOrDefault();
            if (first.ValueKind == JsonValueKind.Object) found = first.GetProperty("id").GetGuid();
            return found != Guid.Empty;
        }, EventWait, "an open event from the sample camera");
        return found;
    }
}
