// The console's first screen with a city's load: 290,000 cameras and 10,000 open events in SQLite. Times, in
// headless Chromium, from navigation to the live page being usable (map with areas and camera clusters, open events
// on it, the feed filled), over several fresh page loads. Exits 1 when the median reaches 2 s or the page is not
// usable, 2 on bad arguments. Figures: docs/benchmarks.md (console section).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

const int Cameras = 290_000;
const int OpenEvents = 10_000;
const double TargetMs = 2000;
const string ChromiumPath = "/usr/bin/chromium";
const string AdminPassword = "lamp post harbour plaza 7";
const string ViewerPassword = "a long passphrase for timing runs 9";

var runs = 5;
string? outPath = null;
for (var a = 0; a < args.Length; a++)
{
    string? problem = null;
    if (args[a] == "--runs")
    {
        if (a + 1 < args.Length && int.TryParse(args[a + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) runs = n;
        else problem = "--runs needs a whole number of at least 1";
        a++;
    }
    else if (args[a] == "--out")
    {
        if (a + 1 < args.Length && !string.IsNullOrWhiteSpace(args[a + 1])) outPath = Path.GetFullPath(args[a + 1]);
        else problem = "--out needs a file name";
        a++;
    }
    else
    {
        problem = $"unexpected argument '{args[a]}'";
    }

    if (problem is not null)
    {
        Console.Error.WriteLine(problem);
        Console.Error.WriteLine("usage: CivicLens.ConsoleBench [--runs N (default 5, at least 1)] [--out SUMMARY-FILE]");
        return 2;
    }
}

if (!File.Exists(ChromiumPath))
{
    Console.Error.WriteLine($"{ChromiumPath} is missing: run tools/setup.sh --test (it installs Debian's chromium).");
    return 1;
}

var problems = new List<string>();
var times = new List<double>();
string cityLine;
using var dir = new TempDirectory();
var options = new ServerOptions
{
    DataDirectory = dir.Path,
    Urls = ["http://127.0.0.1:0"],
    ConfigPath = Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"),
    ModelsDirectory = TestAssets.ModelsDirectory,
    RunPipelines = false,
    AdminPassword = AdminPassword,
    // The bench logs in and reloads far faster than a person; the limits would turn it into a rate-limit test.
    LoginAttemptsPerMinute = 1000,
    RequestsPerMinute = 100_000,
};
// samples/vtest.yaml names its footage under ${CIVICLENS_HOME}.
Environment.SetEnvironmentVariable("CIVICLENS_HOME", TestAssets.Home);
var app = await ServerHost.BuildAsync(options, b => b.Logging.ClearProviders());
await using (app)
{
    var seed = Stopwatch.StartNew();
    Seed(options.DatabasePath);
    Console.WriteLine($"seeded {Cameras:N0} cameras and {OpenEvents:N0} open events in {seed.Elapsed.TotalSeconds:0.0} s");
    await app.StartAsync();
    var baseUrl = app.Urls.First();
    // A viewer sees everything the first screen draws (events included) and needs no second factor.
    using (var admin = await LoginAdminAsync(baseUrl))
    {
        var created = await admin.PostAsync("/api/users", JsonContent.Create(new { userName = "bench", password = ViewerPassword, role = "viewer" }));
        if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"creating the viewer: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
    }

    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = ChromiumPath,
        Headless = true,
        // Containers have no user namespaces for the sandbox and a small /dev/shm.
        Args = ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl, ViewportSize = new ViewportSize { Width = 1366, Height = 860 } });
    var page = await context.NewPageAsync();
    await page.GotoAsync("/console/#/login");
    await page.FillAsync("#username", "bench");
    await page.FillAsync("#password", ViewerPassword);
    await page.ClickAsync("#login-submit");
    await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 60_000 });

    for (var i = 0; i <= runs; i++)
    {
        // A full reload each run (the session cookie stays): the whole first screen, scripts included.
        await page.GotoAsync("about:blank");
        var sw = Stopwatch.StartNew();
        await page.GotoAsync("/console/#/", new PageGotoOptions { WaitUntil = WaitUntilState.Commit });
        try
        {
            await page.Locator("body[data-ready='live']").WaitForAsync(new() { Timeout = 60_000 });
        }
        catch (TimeoutException)
        {
            problems.Add($"run {i}: the live page was not ready within 60 s");
            break;
        }

        sw.Stop();
        var cameras = await page.GetAttributeAsync("#map", "data-cameras");
        var feed = await page.Locator("#feed li.ev").CountAsync();
        // The district view holds a part of the city's cameras, drawn as cells; the feed shows the latest 50 events.
        if (!int.TryParse(cameras, NumberStyles.None, CultureInfo.InvariantCulture, out var inView) || inView <= 100) problems.Add($"run {i}: cameras in view: {cameras ?? "none"}");
        if (feed != 50) problems.Add($"run {i}: {feed} events in the feed, not 50");
        if (i > 0) times.Add(sw.Elapsed.TotalMilliseconds); // the first run warms the server's JIT and caches
        Console.WriteLine($"run {i}: {sw.Elapsed.TotalMilliseconds:0} ms{(i == 0 ? " (warm-up)" : "")}");
    }

    // The whole city in one view: cells, never 290,000 markers.
    var whole = Stopwatch.StartNew();
    var city = await page.APIRequest.GetAsync("/api/map/cameras?west=-1.8&south=53.6&east=-1.3&north=54&zoom=11");
    whole.Stop();
    var body = JsonDocument.Parse(await city.TextAsync()).RootElement;
    var total = body.GetProperty("total").GetInt32();
    if (total != Cameras + 1) problems.Add($"whole city: total {total}, not {Cameras + 1}");
    if (body.GetProperty("cameras").GetArrayLength() != 0) problems.Add("whole city: camera markers at zoom 11, not only cells");
    cityLine = $"whole city at zoom 11 (/api/map/cameras): {total:N0} cameras as {body.GetProperty("cells").GetArrayLength()} cells in {whole.Elapsed.TotalMilliseconds:0} ms";
}

SqliteConnection.ClearAllPools();

var summary = new List<string> { $"{Cameras:N0} cameras, {OpenEvents:N0} open events, {Environment.ProcessorCount} cores" };
if (times.Count > 0)
{
    times.Sort();
    var median = times[times.Count / 2];
    summary.Add($"first usable screen: median {median:0} ms, min {times[0]:0} ms, max {times[^1]:0} ms over {times.Count} runs");
    // The target stays stated here: a first screen past 2 s is a regression, not a figure to record.
    if (median >= TargetMs) problems.Add($"the first screen took {median:0} ms (median of {times.Count}); it must be usable within {TargetMs:0} ms");
}

summary.Add(cityLine);
summary.AddRange(problems.Select(p => "FAILED: " + p));
foreach (var line in summary) Console.WriteLine(line);
if (outPath is not null)
{
    Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
    await File.WriteAllLinesAsync(outPath, summary);
}

return problems.Count == 0 ? 0 : 1;

static async Task<HttpClient> LoginAdminAsync(string baseUrl)
{
    // A fresh server enrols the admin's second factor on the first login: the answer carries the secret.
    var client = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer() }) { BaseAddress = new Uri(baseUrl) };
    var first = await client.PostAsync("/api/auth/login", JsonContent.Create(new { userName = "admin", password = AdminPassword }));
    var secret = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
    var code = Totp.Code(Base32.Decode(secret), Totp.StepAt(TimeProvider.System.GetUtcNow()));
    var second = await client.PostAsync("/api/auth/login", JsonContent.Create(new { userName = "admin", password = AdminPassword, code }));
    second.EnsureSuccessStatusCode();
    return client;
}

// Cameras on a grid over the sample district and around it (a city's spread), and open events at 2,000 of them.
static void Seed(string database)
{
    using var db = new SqliteConnection($"Data Source={database}");
    db.Open();
    using var tx = db.BeginTransaction();
    using (var cam = db.CreateCommand())
    {
        cam.Transaction = tx;
        cam.CommandText = "INSERT INTO cameras (id, name, area_id, site_id, latitude, longitude, heading, field_of_view, range, purpose, legal_basis, department_id, retention_days, analytics, enabled, health) " +
            "VALUES ($id, $id, 'campus', NULL, $lat, $lon, 90, 60, 40, 'benchmark', 'benchmark', 'public-space', 30, 'zone', 1, 'online')";
        var id = cam.Parameters.Add("$id", SqliteType.Text);
        var lat = cam.Parameters.Add("$lat", SqliteType.Real);
        var lon = cam.Parameters.Add("$lon", SqliteType.Real);
        cam.Prepare();
        const int Side = 539; // 539 x 539 ≈ 290,000
        for (var i = 0; i < Cameras; i++)
        {
            id.Value = "bench-" + i.ToString("D6", CultureInfo.InvariantCulture);
            // Spread over about 30 x 30 km around the sample district.
            lat.Value = 53.66 + (i / Side) * 0.0005;
            lon.Value = -1.78 + (i % Side) * 0.00085;
            cam.ExecuteNonQuery();
        }
    }

    using (var ev = db.CreateCommand())
    {
        ev.Transaction = tx;
        ev.CommandText = "INSERT INTO events (id, kind, phase, camera_id, rule, category, area_id, at, stored_at, confidence, state) " +
            "VALUES ($id, 'zone.dwell', 'instant', $camera, 'loiter-cordon', $category, 'campus', $at, $at, 0.8, $state)";
        var id = ev.Parameters.Add("$id", SqliteType.Text);
        var camera = ev.Parameters.Add("$camera", SqliteType.Text);
        var category = ev.Parameters.Add("$category", SqliteType.Text);
        var at = ev.Parameters.Add("$at", SqliteType.Integer);
        var state = ev.Parameters.Add("$state", SqliteType.Text);
        ev.Prepare();
        string[] categories = ["works-safety", "illegal-parking", "waste", "crowding"];
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < OpenEvents; i++)
        {
            id.Value = Guid.CreateVersion7().ToString("D");
            camera.Value = "bench-" + (i % 2000 * 145).ToString("D6", CultureInfo.InvariantCulture);
            category.Value = categories[i % categories.Length];
            at.Value = now - i * 60_000L;
            state.Value = i % 3 == 0 ? "acknowledged" : "new";
            ev.ExecuteNonQuery();
        }
    }

    tx.Commit();
}
