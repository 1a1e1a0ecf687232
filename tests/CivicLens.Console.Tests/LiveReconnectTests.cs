using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using CivicLens.Server.Accounts;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// A lost live connection: the console shows it, reconnects by itself, and fills the gap from the event list, so
/// an event that happened while it was away is in the feed although the live connection never carried it.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class LiveReconnectTests(ConsoleFixture server)
{
    [GeneratedRegex("/hubs/live")]
    private static partial Regex Hub();

    [Fact]
    public async Task LiveFeed_ConnectionDropped_ReconnectsAndFillsTheGapFromTheApi()
    {
        await server.EnsureAccountAsync("viewer-gap", Roles.Viewer);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        var blocked = false;
        IWebSocketRoute? socket = null;
        // While "blocked", the browser cannot open a new live connection (nor fall back to another transport).
        await page.RouteAsync("**/hubs/live/negotiate*", async route =>
        {
            if (Volatile.Read(ref blocked)) await route.AbortAsync("connectionrefused");
            else await route.ContinueAsync();
        });
        await page.RouteWebSocketAsync(Hub(), ws =>
        {
            socket = ws;
            ws.ConnectToServer();
        });
        await server.LoginAsync(page, "viewer-gap");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#live-state")).ToHaveTextAsync("live", new() { Timeout = 30_000 });
        // The sample camera's events come over the connection; the console remembers the last one it saw.
        await page.Locator("#feed li.ev").First.WaitForAsync(new() { Timeout = 240_000 });

        Volatile.Write(ref blocked, true);
        await socket!.CloseAsync();
        await Assertions.Expect(page.Locator("#live-state")).Not.ToHaveTextAsync("live", new() { Timeout = 30_000 });

        // Meanwhile an analysis node reports an event.
        var admin = await server.AdminAsync();
        var created = await admin.PostAsJsonAsync("/api/keys", new { name = "gap-node-" + Guid.NewGuid().ToString("N")[..6] });
        created.EnsureSuccessStatusCode();
        var key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();
        using var node = new HttpClient { BaseAddress = server.BaseAddress };
        node.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        var id = Guid.NewGuid();
        var ingest = await node.PostAsJsonAsync("/api/ingest/events", new
        {
            events = new[] { new { id, kind = "vehicle.stationary", phase = "start", camera = "vtest", rule = "service-road-parking", category = "illegal-parking", at = DateTimeOffset.UtcNow, confidence = 0.9 } },
        });
        ingest.EnsureSuccessStatusCode();

        Volatile.Write(ref blocked, false);
        await Assertions.Expect(page.Locator("#live-state")).ToHaveTextAsync("live", new() { Timeout = 60_000 });
        await page.Locator($"#feed li.ev[data-id='{id}']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#toasts")).ToContainTextAsync("filled in");
        Assert.DoesNotContain(errors, e => !e.Contains("hubs/live", StringComparison.Ordinal) && !e.Contains("WebSocket", StringComparison.Ordinal)
            && !e.Contains("negotiat", StringComparison.OrdinalIgnoreCase) && !e.Contains("ERR_CONNECTION_REFUSED", StringComparison.Ordinal));
    }
}
