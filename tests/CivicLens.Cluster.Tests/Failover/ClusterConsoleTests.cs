using System.Globalization;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Microsoft.Playwright;
using Npgsql;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>
/// The console of a real cluster hub, with one real node running the sample camera, in Debian's Chromium (headless,
/// driven by Playwright as the console tests drive it): the camera list shows the node each camera runs on and
/// filters by it, and the Nodes page shows the hub and the node with their state and the node's cameras of its
/// capacity, as <c>GET /api/cluster/nodes</c> answers them.
/// </summary>
[Collection(ClusterProcesses.Name)]
public sealed class ClusterConsoleTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string AdminPassword = "Cluster console test pass 4417 wren";

    [Fact]
    public async Task Console_OnAHub_ShowsEachCamerasNodeAndEachNodesLoad()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: run tools/setup.sh --test (it installs Debian's chromium for the browser tests).");
        await using var db = await TestDatabase.CreateAsync("PostgreSql", migrate: false);
        using var dir = TestAssets.CreateTempDirectory();
        _ = TestAssets.SampleVideo;
        var env = new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = db.Options.ConnectionString!, ["CIVICLENS_ADMIN_PASSWORD"] = AdminPassword };
        var http = ClusterProcess.FreePort();
        var processes = new List<ClusterProcess>();
        try
        {
            var hub = ClusterProcess.Start("hub", env, "serve", "--cluster", "--name", "hub-a", "--silo-port", Port(), "--config", Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"),
                "--data", Path.Combine(dir.Path, "hub"), "--urls", $"http://127.0.0.1:{http}");
            processes.Add(hub);
            await WaitAsync(() => Task.FromResult(hub.Output.Contains("CivicLens is serving", StringComparison.Ordinal) || hub.HasExited), TimeSpan.FromSeconds(120), "the hub to serve", processes);
            Assert.False(hub.HasExited, hub.Output);
            processes.Add(ClusterProcess.Start("n1", env, "node", "--name", "n1", "--silo-port", Port(), "--capacity", "2", "--fps", "1", "--data", Path.Combine(dir.Path, "n1")));

            await using var store = NpgsqlDataSource.Create(db.Options.ConnectionString!);
            await WaitAsync(async () => await NodeOfAsync(store, "vtest") == "n1", TimeSpan.FromSeconds(90), "the sample camera placed on n1", processes);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                // Containers run as root, where Chromium's sandbox cannot start.
                Args = ["--no-sandbox", "--disable-dev-shm-usage"],
            });
            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = $"http://127.0.0.1:{http}/", ViewportSize = new ViewportSize { Width = 1366, Height = 860 } });
            context.SetDefaultTimeout(30_000);
            var page = await context.NewPageAsync();
            var errors = new List<string>();
            page.Console += (_, m) =>
            {
                // A script error or a CSP violation is a defect; a refused API call (an admin sees no events: 403) is not.
                if (m.Type == "error" && !m.Text.Contains("status of 40", StringComparison.Ordinal)) lock (errors) errors.Add(m.Text);
            };
            page.PageError += (_, e) => { lock (errors) errors.Add(e); };
            await LoginAsync(page);

            // What the Nodes page must show is what the hub answers: read through the browser's own session.
            var answer = await page.EvaluateAsync<JsonElement>("() => fetch('/api/cluster/nodes', { credentials: 'same-origin' }).then((r) => r.json())");
            var nodes = answer.EnumerateArray().ToList();
            var n1 = nodes.Single(n => n.GetProperty("name").GetString() == "n1");
            Assert.Equal("node", n1.GetProperty("role").GetString());
            Assert.Equal(2, n1.GetProperty("capacity").GetInt32());
            var hubRow = nodes.Single(n => n.GetProperty("name").GetString() == "hub-a");
            Assert.Equal("hub", hubRow.GetProperty("role").GetString());

            // The Nodes link appears once the hub answered, and its page shows each member with its state and load.
            var link = page.Locator("#nav a[data-page='nodes']");
            await Assertions.Expect(link).ToBeVisibleAsync();
            await link.ClickAsync();
            await page.Locator("body[data-ready='nodes']").WaitForAsync();
            var node = page.Locator("#nodes tbody tr[data-name='n1']");
            await Assertions.Expect(node.Locator("td").Nth(0)).ToHaveTextAsync("node");
            await Assertions.Expect(node.Locator(".health")).ToHaveTextAsync(n1.GetProperty("status").GetString()!);
            await Assertions.Expect(node.Locator(".load-text")).ToHaveTextAsync("1 / 2", new() { Timeout = 15_000 });
            await Assertions.Expect(node.Locator("[role='meter']")).ToHaveAttributeAsync("aria-valuenow", "1");
            // (The width it was given, not its laid-out size: a bar not laid out yet measures 0 of 0.)
            Assert.Equal("50%", await node.Locator(".load-fill").EvaluateAsync<string>("(f) => f.style.width"));
            var hubLine = page.Locator("#nodes tbody tr[data-name='hub-a']");
            await Assertions.Expect(hubLine.Locator(".health")).ToHaveTextAsync("active");
            await Assertions.Expect(hubLine).ToContainTextAsync("analyses no camera");
            await Assertions.Expect(page.Locator("#nodes-summary")).ToContainTextAsync("1 worker node and 1 hub: 1 of 2 camera places in use");
            await Assertions.Expect(page.Locator("#nodes-moving")).ToContainTextAsync("0 cameras moving");
            Directory.CreateDirectory(ScreenshotDirectory);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "cluster-nodes.png") });

            // The node's name leads to the camera list filtered to it, with the Node column.
            await node.Locator("a").ClickAsync();
            await page.Locator("body[data-ready='cameras']").WaitForAsync();
            var row = page.Locator("#cameras tbody tr[data-id='vtest']");
            await Assertions.Expect(page.Locator("#cameras thead button[data-sort='node']")).ToHaveTextAsync("Node");
            await Assertions.Expect(row.Locator("td.node")).ToHaveTextAsync("n1");
            await Assertions.Expect(page.Locator("#camera-node-filter")).ToHaveValueAsync("n1");
            await Assertions.Expect(page.Locator("#camera-count")).ToContainTextAsync("on node n1");
            await page.ClickAsync("#cameras thead button[data-sort='node']");
            await Assertions.Expect(page.Locator("#cameras th[aria-sort='ascending'] button[data-sort='node']")).ToBeVisibleAsync();
            await page.Locator("#camera-node-filter").SelectOptionAsync("-");
            await Assertions.Expect(row).ToHaveCountAsync(0);
            await page.Locator("#camera-node-filter").SelectOptionAsync("");
            await Assertions.Expect(row.Locator("td.node")).ToHaveTextAsync("n1");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, "cluster-cameras.png") });

            // The camera's own page names its node too.
            await row.Locator("a").ClickAsync();
            await page.Locator("body[data-ready='camera']").WaitForAsync();
            await Assertions.Expect(page.Locator("main")).ToContainTextAsync("on node n1");
            Assert.Empty(errors);
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
    }

    private static string ScreenshotDirectory { get; } = Path.Combine(TestAssets.RepoRoot, "TestResults", "screenshots");

    private static string Port() => ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture);

    /// <summary>The admin's first login as a person makes it: password, then enrolment in the authenticator, then its code.</summary>
    private static async Task LoginAsync(IPage page)
    {
        await page.GotoAsync("/console/#/login");
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", AdminPassword);
        await page.ClickAsync("#login-submit");
        await page.Locator("#enrol-secret").WaitForAsync();
        var secret = (await page.Locator("#enrol-secret").TextContentAsync())!.Trim();
        await page.FillAsync("#code", Totp.Code(Base32.Decode(secret), Totp.StepAt(DateTimeOffset.UtcNow)));
        await page.ClickAsync("#login-submit");
        await page.Locator("body[data-ready]:not([data-ready='login'])").WaitForAsync();
    }

    private static async Task<string?> NodeOfAsync(NpgsqlDataSource store, string camera)
    {
        await using var cmd = store.CreateCommand("SELECT node FROM cameras WHERE id = @id");
        cmd.Parameters.AddWithValue("id", camera);
        return await cmd.ExecuteScalarAsync() as string;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string awaited, List<ClusterProcess> processes)
    {
        try
        {
            await Eventually.TrueAsync(condition, timeout, awaited);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + string.Concat(processes.Select(p => $"\n--- {p.Name} ---\n{(p.Output.Length <= 4000 ? p.Output : p.Output[^4000..])}")), ex);
        }
    }
}
