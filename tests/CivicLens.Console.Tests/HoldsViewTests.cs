using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>The legal holds page as an investigator uses it: place a hold on a camera's span, see it, release it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class HoldsViewTests(ConsoleFixture server)
{
    [Fact]
    public async Task Investigator_PlacesACameraHold_SeesItListed_ReleasesIt_ViewerHasNoLink()
    {
        await server.EnsureAccountAsync("investigator-holds", "investigator");
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "investigator-holds");
        await Assertions.Expect(page.Locator("#nav a[data-page='holds']")).ToBeVisibleAsync();
        await page.GotoAsync("/console/#/holds");
        await page.Locator("body[data-ready='holds']").WaitForAsync(new() { Timeout = 30_000 });

        // A refused request says why; nothing is placed.
        await page.SelectOptionAsync("#hold-scope", "camera");
        await page.FillAsync("#hold-target", "vtest");
        await page.FillAsync("#hold-reference", "INS-2026-77");
        await page.FillAsync("#hold-reason", "Vehicle damage claim at the gate");
        await page.FillAsync("#hold-expires", DateTimeOffset.UtcNow.AddDays(60).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
        await page.ClickAsync("#new-hold-form button[type='submit']");
        await Assertions.Expect(page.Locator("#toasts .toast").Last).ToContainTextAsync("from");

        await page.FillAsync("#hold-from", "2026-10-01T10:00");
        await page.FillAsync("#hold-to", "2026-10-01T12:00");
        await page.ClickAsync("#new-hold-form button[type='submit']");
        var row = page.Locator("#holds tbody tr").Filter(new() { HasText = "INS-2026-77" });
        await Assertions.Expect(row).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Assertions.Expect(row).ToContainTextAsync("camera vtest");

        await row.Locator("input[aria-label^='Reason']").FillAsync("Claim withdrawn");
        await row.Locator("button[data-release]").ClickAsync();
        await Assertions.Expect(page.Locator("#holds tbody tr")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        await page.ClickAsync("#holds-toggle");
        await Assertions.Expect(page.Locator("#holds tbody tr").Filter(new() { HasText = "Claim withdrawn" })).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        Assert.Empty(errors);

        var (viewerContext, viewerPage, _) = await server.NewPageAsync();
        await using var __ = viewerContext;
        await server.EnsureAccountAsync("viewer-holds", "viewer");
        await server.LoginAsync(viewerPage, "viewer-holds");
        await Assertions.Expect(viewerPage.Locator("#nav a[data-page='holds']")).ToHaveCountAsync(0);
    }
}
