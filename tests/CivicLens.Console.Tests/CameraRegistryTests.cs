using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The camera registry's lifecycle and health in a real browser against the real server, the sample camera's pipeline
/// running: an admin disables the sample camera and sees it become disabled, enables it and sees it start and stream
/// again (the state pushed over the live connection); enabling a camera without a purpose is refused with the
/// server's words in an alert; an import with one bad row names its row and field and writes nothing.
/// Cameras these tests create lie far outside the sample district, so the map's camera count stays the sample's one.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class CameraRegistryTests(ConsoleFixture server)
{
    /// <summary>How long the sample camera may take to stream after (re)starting on two busy cores: the model loads, ffmpeg starts.</summary>
    private static readonly float StreamingWait = (float)TimeSpan.FromMinutes(2).TotalMilliseconds;

    [Fact]
    public async Task CameraPage_AdminDisablesThenEnables_StateFollowsOnThePage()
    {
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        var admin = await server.AdminAsync();
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        try
        {
            await page.GotoAsync("/console/#/cameras/vtest");
            await page.Locator("body[data-ready='camera']").WaitForAsync(new() { Timeout = 30_000 });
            var state = page.Locator("#camera-state");
            // The fixture runs the sample camera's pipeline: it streams before anything is changed.
            await Assertions.Expect(state).ToHaveAttributeAsync("data-state", "streaming", new() { Timeout = StreamingWait });
            await Assertions.Expect(state).ToHaveTextAsync("streaming");

            // Disabling asks first; cancelling changes nothing.
            await page.ClickAsync("#camera-disable");
            await Assertions.Expect(page.Locator("#camera-disable-confirm")).ToBeVisibleAsync();
            await page.ClickAsync("#camera-disable-cancel");
            await Assertions.Expect(page.Locator("#camera-disable")).ToBeVisibleAsync();
            Assert.True((await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest")).GetProperty("enabled").GetBoolean(), "cancel left the camera enabled");

            await page.ClickAsync("#camera-disable");
            await page.ClickAsync("#camera-disable-yes");
            await Assertions.Expect(state).ToHaveTextAsync("disabled", new() { Timeout = 5_000 });
            await Assertions.Expect(page.Locator("#camera-reason")).ToContainTextAsync("disabled by admin");
            await Assertions.Expect(page.Locator("#camera-history tbody tr").First).ToHaveAttributeAsync("data-state", "disabled", new() { Timeout = 5_000 });
            var disabled = await admin.GetFromJsonAsync<JsonElement>("/api/cameras/vtest");
            Assert.False(disabled.GetProperty("enabled").GetBoolean());
            Assert.Equal("disabled", disabled.GetProperty("health").GetString());
            await ConsoleFixture.ShotAsync(page, "camera-disabled");

            // A second tab on the list, which never polls: what changes there from now on came over the live connection.
            var list = await context.NewPageAsync();
            await list.GotoAsync("/console/#/cameras");
            await list.Locator("body[data-ready='cameras']").WaitForAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(list.Locator("#live-state")).ToHaveTextAsync("live", new() { Timeout = 30_000 });
            var row = list.Locator("#cameras tbody tr[data-id='vtest'] .health");
            await Assertions.Expect(row).ToHaveTextAsync("disabled");
            await Assertions.Expect(list.Locator("#camera-counts button[data-state='disabled']")).ToContainTextAsync("disabled");

            // Enabled again: it leaves disabled at once (starting), then streams again, pushed over the live connection.
            await page.ClickAsync("#camera-enable");
            await Assertions.Expect(state).Not.ToHaveAttributeAsync("data-state", "disabled", new() { Timeout = 5_000 });
            Assert.Contains(await state.GetAttributeAsync("data-state"), new[] { "starting", "streaming" });
            await Assertions.Expect(state).ToHaveAttributeAsync("data-state", "streaming", new() { Timeout = StreamingWait });
            await Assertions.Expect(row).ToHaveTextAsync("streaming", new() { Timeout = 10_000 });
            await Assertions.Expect(list.Locator("#camera-counts button[data-state='streaming']")).ToBeVisibleAsync(new() { Timeout = 10_000 });
            await Assertions.Expect(page.Locator("#camera-history tbody tr").First).ToHaveAttributeAsync("data-state", "streaming", new() { Timeout = 10_000 });
            await ConsoleFixture.ShotAsync(page, "camera-streaming-again");
            Assert.Empty(errors);
        }
        finally
        {
            // The other browser tests need the sample camera running.
            using var restore = await admin.PostAsJsonAsync("/api/cameras/vtest/enabled", new { enabled = true });
        }
    }

    [Fact]
    public async Task CameraPage_EnableWithoutPurpose_RefusalShownInAnAlert()
    {
        var admin = await server.AdminAsync();
        var id = "no-purpose-" + Guid.NewGuid().ToString("N")[..6];
        // Registered without purpose, legal basis, department or retention: allowed while it stays off.
        var body = new { id, camera = new { name = "Unaccountable camera", area = "campus", latitude = 10.0, longitude = 10.0, enabled = false } };
        using (var created = await admin.PostAsJsonAsync("/api/cameras", body))
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"create {id}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }

        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        try
        {
            await page.GotoAsync($"/console/#/cameras/{id}");
            await page.Locator("body[data-ready='camera']").WaitForAsync(new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#camera-state")).ToHaveTextAsync("disabled");
            await Assertions.Expect(page.Locator("#camera-purpose")).ToHaveTextAsync("none recorded");

            await page.ClickAsync("#camera-enable");
            var alert = page.Locator("#camera-alert[role='alert']");
            await Assertions.Expect(alert).ToContainTextAsync("purpose before power", new() { Timeout = 10_000 });
            await Assertions.Expect(alert).ToContainTextAsync("Refused");
            await Assertions.Expect(page.Locator("#camera-state")).ToHaveTextAsync("disabled");
            await ConsoleFixture.ShotAsync(page, "camera-purpose-before-power");
            var after = await admin.GetFromJsonAsync<JsonElement>($"/api/cameras/{Uri.EscapeDataString(id)}");
            Assert.False(after.GetProperty("enabled").GetBoolean());

            // Retiring asks for a reason, then takes it out of service for good.
            await page.ClickAsync("#camera-retire");
            await page.FillAsync("#camera-retire-reason", "registered by a browser test");
            await page.ClickAsync("#camera-retire-yes");
            await Assertions.Expect(page.Locator("#camera-state")).ToHaveTextAsync("retired", new() { Timeout = 5_000 });
            await Assertions.Expect(page.Locator("#camera-reason")).ToHaveTextAsync("registered by a browser test");
            await Assertions.Expect(page.Locator("#camera-enable")).ToHaveCountAsync(0);
            Assert.Empty(errors);
        }
        finally
        {
            using var retire = await admin.PostAsJsonAsync($"/api/cameras/{Uri.EscapeDataString(id)}/retire", new { reason = "browser test" });
        }
    }

    [Fact]
    public async Task CameraList_ImportWithABadRow_ShowsRowAndField_AndCreatesNothing()
    {
        var admin = await server.AdminAsync();
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var good = "import-good-" + suffix;
        var bad = "import-bad-" + suffix;
        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        await server.LoginAsync(page, "admin", ConsoleFixture.AdminPassword);
        await page.GotoAsync("/console/#/cameras");
        await page.Locator("body[data-ready='cameras']").WaitForAsync(new() { Timeout = 30_000 });
        // The counts bar names the states and filters by them.
        await Assertions.Expect(page.Locator("#camera-counts button[data-state='streaming']")).ToContainTextAsync("streaming", new() { Timeout = StreamingWait });
        await page.ClickAsync("#camera-counts button[data-state='streaming']");
        await Assertions.Expect(page.Locator("#camera-health-filter")).ToHaveValueAsync("streaming");
        await Assertions.Expect(page.Locator("#cameras tbody tr[data-id='vtest'] .health")).ToHaveTextAsync("streaming");
        await page.SelectOptionAsync("#camera-health-filter", "");

        // Line 1 is the header: the bad camera's row is line 3, its department unknown.
        var csv = $"id,name,latitude,longitude,area,department\n{good},Imported camera,10.001,10.001,campus,public-space\n{bad},Badly imported camera,10.002,10.002,campus,no-such-department\n";
        await page.SetInputFilesAsync("#camera-import-file", new FilePayload { Name = "cameras.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await page.ClickAsync("#camera-import-check");
        var problem = page.Locator("#camera-import-problems tbody tr[data-row='3'][data-field='department']");
        await Assertions.Expect(problem).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Assertions.Expect(problem).ToContainTextAsync("no-such-department");
        await Assertions.Expect(page.Locator("#camera-import-problems tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#camera-import-alert")).ToContainTextAsync("nothing was imported");
        await Assertions.Expect(page.Locator("#camera-import-submit")).ToBeDisabledAsync();
        await ConsoleFixture.ShotAsync(page, "camera-import-problems");
        foreach (var id in new[] { good, bad })
        {
            using var response = await admin.GetAsync($"/api/cameras/{id}");
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{id} exists after a refused import: {(int)response.StatusCode}");
        }

        // The fixed file passes the dry run (still nothing written), then imports.
        var fixedCsv = csv.Replace("no-such-department", "public-space", StringComparison.Ordinal);
        await page.SetInputFilesAsync("#camera-import-file", new FilePayload { Name = "cameras.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(fixedCsv) });
        await page.ClickAsync("#camera-import-check");
        await Assertions.Expect(page.Locator("#camera-import-counts")).ToContainTextAsync("2 new", new() { Timeout = 15_000 });
        using (var dry = await admin.GetAsync($"/api/cameras/{good}"))
        {
            Assert.True(dry.StatusCode == HttpStatusCode.NotFound, $"the dry run wrote {good}: {(int)dry.StatusCode}");
        }

        await page.ClickAsync("#camera-import-submit");
        await Assertions.Expect(page.Locator("#camera-import-counts")).ToContainTextAsync("Imported: 2 new", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator($"#cameras tbody tr[data-id='{good}'] .health")).ToHaveTextAsync("disabled", new() { Timeout = 10_000 });
        foreach (var id in new[] { good, bad })
        {
            using var retire = await admin.PostAsJsonAsync($"/api/cameras/{id}/retire", new { reason = "browser test" });
            Assert.True(retire.IsSuccessStatusCode, $"retire {id}: {(int)retire.StatusCode}");
        }

        Assert.Empty(errors);
    }
}
