using CivicLens.Server.Accounts;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The console in Debian's Firefox ESR (headless, over WebDriver BiDi): a viewer logs in (the form filled and
/// submitted by script, as typing would), sees the sample camera's events arrive live on the map and in the feed,
/// opens one from the keyboard, moves to the cases board, and opens the phone report form; no script error.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class FirefoxTests(ConsoleFixture server)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Firefox_ViewerLogsIn_SeesEventsLive_WorksTheFeedFromTheKeyboard_AndOpensCasesAndTheReportForm()
    {
        await server.EnsureAccountAsync("viewer-firefox", Roles.Viewer);
        await using var ff = await FirefoxBidi.StartAsync();
        var console = new Uri(server.BaseAddress, "/console/").ToString();

        await ff.NavigateAsync(console + "#/login");
        await ff.WaitForAsync("document.querySelector('#login-form')", Wait, "the login page");
        await ff.EvaluateAsync($$"""
            (() => {
              const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); };
              set('username', 'viewer-firefox');
              set('password', '{{ConsoleFixture.StaffPassword}}');
              document.getElementById('login-submit').click();
            })()
            """);
        await ff.WaitForAsync("document.body.dataset.ready === 'live'", Wait, "the live page");
        await ff.WaitForAsync("document.getElementById('map').dataset.cameras === '1'", Wait, "the sample camera on the map");
        await ff.WaitForAsync("document.getElementById('live-state').textContent === 'live'", Wait, "the live connection (SignalR over WebSocket)");

        // An event that arrives after the page is ready comes over the live connection.
        var before = (await ff.EvaluateAsync("[...document.querySelectorAll('#feed li.ev')].map(e => e.dataset.id).join(',')")).GetProperty("value").GetString();
        await ff.WaitForAsync($"[...document.querySelectorAll('#feed li.ev')].some(e => !'{before}'.split(',').includes(e.dataset.id))", TimeSpan.FromMinutes(4),
            "a new event in the feed");
        await ff.WaitForAsync("document.getElementById('map').dataset.incidents !== '0'", Wait, "open events on the map");

        // The feed is worked from the keyboard: focus an event, Enter opens it and moves the focus to its detail.
        await ff.EvaluateAsync("""
            (() => {
              const li = document.querySelector('#feed li.ev');
              li.focus();
              li.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
            })()
            """);
        await ff.WaitForAsync("document.activeElement && document.activeElement.id === 'detail-title'", Wait, "the event's detail, focused");

        await ff.NavigateAsync(console + "#/cases");
        await ff.WaitForAsync("document.body.dataset.ready === 'cases'", Wait, "the cases board");
        await ff.NavigateAsync(new Uri(server.BaseAddress, "/console/report/").ToString());
        await ff.WaitForAsync("!document.getElementById('report').hidden && document.querySelectorAll('#category option').length > 1", Wait, "the report form");

        Assert.Empty(ff.Errors);
    }
}
