using CivicLens.Pipeline.Output;
using CivicLens.Rules.Engine;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Server.Ingest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SkiaSharp;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>The same moment from another camera ("three angles"), as the operator sees it on the event and on its case.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SiteViewsTests(ConsoleFixture server)
{
    [Fact]
    public async Task EventWithAnotherCamerasView_ShowsTheAngle_OnTheEventAndOnItsCase()
    {
        // An event and another camera's view of it, journalled as the pipeline does (the sample district has one
        // camera, so the view comes from it under another frame: what is shown is the plumbing and the label).
        var id = Guid.NewGuid();
        var at = DateTimeOffset.UtcNow;
        var name = $"vtest-0000001-{id.ToString("N")[..8]}-site.jpg";
        using (var bitmap = new SKBitmap(64, 48))
        {
            bitmap.Erase(new SKColor(40, 120, 60));
            using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 80);
            await File.WriteAllBytesAsync(Path.Combine(server.App.Services.GetRequiredService<ServerOptions>().SnapshotDirectory, name), jpeg.ToArray());
        }

        var journal = server.App.Services.GetRequiredService<EventJournal>();
        var e = new RuleEvent
        {
            Id = id,
            Kind = "zone.occupancy",
            Phase = EventPhase.Start,
            Camera = "vtest",
            Rule = "plaza-crowding",
            Category = "crowding",
            Site = "plaza",
            StreamTime = TimeSpan.FromSeconds(1),
            At = at,
            Count = 9,
            Confidence = 0.8f,
        };
        await server.EnsureAccountAsync("op-angles", Roles.Operator);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "op-angles");
        await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 30_000 });
        await journal.OnEventsAsync([new EvidencedEvent(e, null)], CancellationToken.None);
        await journal.OnViewsAsync([new SiteView(id, e.Kind, "vtest", "vtest", TimeSpan.FromSeconds(1), at, name)], CancellationToken.None);

        var item = page.Locator($"#feed li.ev[data-id='{id}']");
        await item.WaitForAsync(new() { Timeout = 60_000 });
        await item.ClickAsync();
        var angle = page.Locator("#detail-views figure");
        await Assertions.Expect(angle).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Assertions.Expect(angle.Locator("figcaption")).ToContainTextAsync("Plaza, north-east corner");
        // The image loads (served to an operator, who may see snapshots).
        await Assertions.Expect(angle.Locator("img")).ToHaveJSPropertyAsync("naturalWidth", 64);

        await page.FillAsync("#case-title", "Crowding seen from two angles");
        await page.ClickAsync("#open-case");
        await page.Locator("body[data-ready='case']").WaitForAsync();
        var onCase = page.Locator($"#views-{id} figure");
        await Assertions.Expect(onCase).ToHaveCountAsync(1);
        await Assertions.Expect(onCase.Locator("figcaption")).ToContainTextAsync("Plaza, north-east corner");
        Assert.Empty(errors);
    }
}
