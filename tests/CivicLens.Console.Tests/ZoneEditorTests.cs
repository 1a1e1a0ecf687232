using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The camera pages in a real browser against the real server with the sample camera running: an admin draws a
/// zone, saves it and sees it after a reload; an invalid zone is explained on the canvas beside the point to blame
/// and the drawing survives a reload as a draft; a viewer watches the redacted live view.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ZoneEditorTests(ConsoleFixture server)
{
    [Fact]
    public async Task Editor_DrawZoneAndSave_SeesItSavedAfterReload()
    {
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        var admin = await server.AdminAsync();
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        await page.GotoAsync("/console/#/cameras/vtest/edit");
        await page.Locator("body[data-ready='camera-editor']").WaitForAsync(new() { Timeout = 30_000 });
        // The admin sees no footage but draws on a recent scene frame: the street, every person and vehicle masked.
        await Assertions.Expect(page.Locator("img#editor-background")).ToHaveJSPropertyAsync("naturalWidth", 768, new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#scene-note")).ToBeVisibleAsync();

        var id = "drawn-" + Guid.NewGuid().ToString("N")[..6];
        await page.FillAsync("#new-zone-id", id);
        await page.ClickAsync("#new-zone");
        foreach (var (x, y) in new[] { (100, 300), (300, 300), (300, 500), (100, 500) }) await ClickFrameAsync(page, x, y);
        await Assertions.Expect(page.Locator("#editor-canvas")).ToHaveAttributeAsync("data-points", "4");
        // Keyboard nudging: the first point moves 10 pixels right.
        await page.Locator("#editor-canvas circle[data-index='0']").FocusAsync();
        await page.Keyboard.PressAsync("Shift+ArrowRight");
        await page.ClickAsync("#editor-save");
        await Assertions.Expect(page.Locator("#editor-status")).ToContainTextAsync($"Saved zone {id}", new() { Timeout = 15_000 });
        await ConsoleFixture.ShotAsync(page, "zone-editor-saved");

        await page.ReloadAsync();
        await page.Locator("body[data-ready='camera-editor']").WaitForAsync(new() { Timeout = 30_000 });
        await page.ClickAsync($"#geometry-list button[data-kind='zone'][data-id='{id}']");
        await Assertions.Expect(page.Locator("#editor-canvas")).ToHaveAttributeAsync("data-points", "4");

        // The server holds exactly what was drawn (in the camera's pixels, within a pixel of the clicks).
        var rules = await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest/rules");
        var zone = rules.GetProperty("zones").EnumerateArray().Single(z => z.GetProperty("id").GetString() == id);
        Assert.Equal(1, zone.GetProperty("version").GetInt32());
        var first = zone.GetProperty("polygon")[0];
        Assert.InRange(first[0].GetSingle(), 108, 112);
        Assert.InRange(first[1].GetSingle(), 298, 302);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Editor_InvalidZone_ExplainedOnCanvas_AndDraftSurvivesReload()
    {
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.AdminAsync();
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        await page.GotoAsync("/console/#/cameras/vtest/edit");
        await page.Locator("body[data-ready='camera-editor']").WaitForAsync(new() { Timeout = 30_000 });

        await page.FillAsync("#new-zone-id", "bowtie");
        await page.ClickAsync("#new-zone");
        // Corners out of order: the edges cross.
        foreach (var (x, y) in new[] { (100, 100), (300, 300), (300, 100), (100, 300) }) await ClickFrameAsync(page, x, y);
        await page.ClickAsync("#editor-save");
        var label = page.Locator("#canvas-problem");
        await Assertions.Expect(label).ToContainTextAsync("edges cross each other", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#editor-message")).ToContainTextAsync("zone 'bowtie'");
        await Assertions.Expect(page.Locator("#editor-canvas circle.handle.bad")).ToHaveCountAsync(1);
        // The whole message is readable on the frame, not cut off at its edge.
        var labelBox = (await label.BoundingBoxAsync())!;
        var canvasBox = (await page.Locator("#editor-canvas").BoundingBoxAsync())!;
        Assert.True(labelBox.X >= canvasBox.X && labelBox.X + labelBox.Width <= canvasBox.X + canvasBox.Width + 1
            && labelBox.Y >= canvasBox.Y && labelBox.Y + labelBox.Height <= canvasBox.Y + canvasBox.Height + 1,
            $"problem label {labelBox.X},{labelBox.Y} {labelBox.Width}x{labelBox.Height} outside the canvas {canvasBox.X},{canvasBox.Y} {canvasBox.Width}x{canvasBox.Height}");
        await ConsoleFixture.ShotAsync(page, "zone-editor-invalid");

        // Nothing was saved, and the drawing is not lost: a reload (or a new login) brings the draft back.
        await page.ReloadAsync();
        await page.Locator("body[data-ready='camera-editor']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#editor-status")).ToContainTextAsync("Restored your unsaved zone bowtie");
        await Assertions.Expect(page.Locator("#editor-canvas")).ToHaveAttributeAsync("data-points", "4");
        var rules = await (await server.AdminAsync()).GetFromJsonAsync<JsonElement>("/api/cameras/vtest/rules");
        Assert.DoesNotContain(rules.GetProperty("zones").EnumerateArray(), z => z.GetProperty("id").GetString() == "bowtie");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task CameraPage_Viewer_SeesHealthAndTheRedactedLiveViewRefreshing()
    {
        await server.EnsureAccountAsync("viewer-cams", Roles.Viewer);
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "viewer-cams");
        await page.GotoAsync("/console/#/cameras");
        await page.Locator("body[data-ready='cameras']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#cameras tbody tr[data-id='vtest']")).ToHaveCountAsync(1);
        // Filter by health: no camera is offline.
        await page.SelectOptionAsync("#camera-health-filter", "offline");
        await Assertions.Expect(page.Locator("#cameras tbody tr")).ToHaveCountAsync(0);
        await page.SelectOptionAsync("#camera-health-filter", "");

        await page.ClickAsync("#cameras a[href='#/cameras/vtest']");
        await page.Locator("body[data-ready='camera']").WaitForAsync(new() { Timeout = 30_000 });
        // A new frame about once a second while the page is visible.
        await Assertions.Expect(page.Locator("#camera-live[data-frames='3']")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await ConsoleFixture.ShotAsync(page, "camera-live");
        // The first connection after login is no reconnect: the events the live page already listed are not news.
        Assert.DoesNotContain("Reconnected", await page.Locator("#toasts").InnerTextAsync(), StringComparison.Ordinal);
        // A viewer gets no editor link.
        Assert.Equal(0, await page.Locator("#edit-geometry").CountAsync());
        Assert.Empty(errors);
    }

    /// <summary>Clicks the editor canvas at a point of the camera's 768x576 frame.</summary>
    private static async Task ClickFrameAsync(IPage page, float x, float y)
    {
        var box = (await page.Locator("#editor-canvas").BoundingBoxAsync())!;
        var scale = box.Width / 768f;
        await page.Mouse.ClickAsync(box.X + x * scale, box.Y + y * scale);
    }
}
