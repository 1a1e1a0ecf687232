using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The real server (SQLite, the sample district, the sample camera's pipeline ON over the bundled footage) on a
/// loopback port, and Debian's Chromium driven headless by Playwright. Shared by every browser test (the
/// "Console" collection); each test takes its own browser context (its own cookies) from <see cref="NewPageAsync"/>.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime, IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string AdminPassword = "lamp post harbour plaza 7";
    public const string StaffPassword = "a long passphrase for staff 9";

    private readonly TempDirectory _dir = new();
    private readonly Dictionary<string, string> _secrets = [];
    private readonly Dictionary<string, long> _lastStep = [];
    private readonly HashSet<string> _accounts = [];
    private readonly SemaphoreSlim _codes = new(1, 1);
    private HttpClient? _admin;

    public WebApplication App { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The departments' mail server: a real SMTP sink (Debian's aiosmtpd) the server delivers to.</summary>
    public SmtpSink Mail { get; private set; } = null!;

    public static string ScreenshotDirectory { get; } = Path.Combine(TestAssets.RepoRoot, "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: run tools/setup.sh --test (it installs Debian's chromium for the browser tests).");
        // The sample configuration names its footage under ${CIVICLENS_HOME}.
        Environment.SetEnvironmentVariable("CIVICLENS_HOME", TestAssets.Home);
        _ = TestAssets.SampleVideo;
        Mail = await SmtpSink.StartAsync();
        var options = new ServerOptions
        {
            Smtp = new SmtpTarget("127.0.0.1", Mail.Port, "civiclens@sample-district.example", SmtpSecurity.None),
            DataDirectory = _dir.Path,
            Urls = ["http://127.0.0.1:0"],
            ConfigPath = Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"),
            ModelsDirectory = TestAssets.ModelsDirectory,
            RunPipelines = true,
            SampleFps = 5,
            AdminPassword = AdminPassword,
            LoginAttemptsPerMinute = 1000,
            RequestsPerMinute = 100_000,
        };
        App = await ServerHost.BuildAsync(options, b =>
        {
            b.Logging.ClearProviders();
            b.Logging.AddFilter(_ => false);
        });
        await App.StartAsync();
        BaseAddress = new Uri(App.Urls.First());
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Containers run as root, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        if (Mail is not null) await Mail.DisposeAsync();
        Playwright?.Dispose();
        _admin?.Dispose();
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    public void Dispose()
    {
        _dir.Dispose();
        _codes.Dispose();
    }

    /// <summary>
    /// A fresh browser (own cookies and storage) on a tablet-or-larger window, or what <paramref name="device"/>
    /// sets (a phone), console errors collected.
    /// </summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewPageAsync(int width = 1366, int height = 860, Action<BrowserNewContextOptions>? device = null)
    {
        var contextOptions = new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } };
        device?.Invoke(contextOptions);
        var context = await Browser.NewContextAsync(contextOptions);
        // CI's two cores also run the server, its detector and the browser: a slow step waits longer than Playwright's
        // 30 s default before it counts as a failure (a page that never gets there still fails, a minute later).
        context.SetDefaultTimeout(60_000);
        context.SetDefaultNavigationTimeout(60_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            // A CSP violation or a script error is a defect; a refused API call (401 after logout, 403) is not.
            if (m.Type == "error" && !m.Text.Contains("status of 40", StringComparison.Ordinal)) lock (errors) errors.Add(m.Text);
        };
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        return (context, page, errors);
    }

    /// <summary>An account made through the admin API (idempotent per name).</summary>
    public async Task EnsureAccountAsync(string name, string role, params string[] areas)
    {
        if (_accounts.Contains(name)) return;
        var admin = await AdminAsync();
        var created = await admin.PostAsJsonAsync("/api/users", new { userName = name, password = StaffPassword, role, areas = areas.Length == 0 ? null : areas });
        Assert.True(created.IsSuccessStatusCode, $"create {name}: {await created.Content.ReadAsStringAsync()}");
        _accounts.Add(name);
    }

    /// <summary>
    /// Logs in through the console's login page as a person would: password, then the authenticator code (enrolling
    /// from the secret the page shows the first time). Returns once the first page is ready.
    /// </summary>
    public async Task LoginAsync(IPage page, string name, string password = StaffPassword, bool navigate = true)
    {
        ArgumentNullException.ThrowIfNull(page);
        if (navigate) await page.GotoAsync("/console/#/login");
        await page.Locator("#login-form").WaitForAsync();
        await page.FillAsync("#username", name);
        await page.FillAsync("#password", password);
        await page.ClickAsync("#login-submit");
        // Either the session starts (viewer, auditor) or the page asks for a code.
        var code = page.Locator("#code");
        var done = page.Locator("body[data-ready]:not([data-ready='login'])");
        await code.Or(done).First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 30_000 });
        if (!await code.IsVisibleAsync()) return;
        if (await page.Locator("#enrol-secret").IsVisibleAsync()) _secrets[name] = (await page.Locator("#enrol-secret").TextContentAsync())!.Trim();
        Assert.True(_secrets.ContainsKey(name), $"{name} needs a code but never enrolled in this browser run");
        await page.FillAsync("#code", await NextCodeAsync(name));
        await page.ClickAsync("#login-submit");
        await done.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
    }

    /// <summary>A code the server has not seen yet (codes are single-use; the server accepts one step ahead).</summary>
    public async Task<string> NextCodeAsync(string name)
    {
        await _codes.WaitAsync();
        try
        {
            var now = Totp.StepAt(DateTimeOffset.UtcNow);
            var step = _lastStep.TryGetValue(name, out var last) && last >= now ? last + 1 : now;
            if (step > now + 1)
            {
                // Two logins of one account in one 30 s step used both codes; the next step brings a new one.
                await Task.Delay(TimeSpan.FromSeconds(30 - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % 30 + 1));
                now = Totp.StepAt(DateTimeOffset.UtcNow);
                step = Math.Max(now, last + 1);
            }

            _lastStep[name] = step;
            return Totp.Code(Base32.Decode(_secrets[name]), step);
        }
        finally
        {
            _codes.Release();
        }
    }

    /// <summary>The admin's API client (admins configure; they see no events).</summary>
    public async Task<HttpClient> AdminAsync()
    {
        if (_admin is not null) return _admin;
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = BaseAddress };
        var first = await client.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = AdminPassword });
        if (first.StatusCode != HttpStatusCode.OK)
        {
            var problem = await first.Content.ReadFromJsonAsync<JsonElement>();
            if (problem.TryGetProperty("secret", out var s)) _secrets["admin"] = s.GetString()!;
            var second = await client.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = AdminPassword, code = await NextCodeAsync("admin") });
            Assert.True(second.IsSuccessStatusCode, $"admin login: {await second.Content.ReadAsStringAsync()}");
        }

        return _admin = client;
    }

    /// <summary>An API client logged in as a password-only account (viewer), to look at what the server holds.</summary>
    public async Task<HttpClient> ViewerApiAsync(string name)
    {
        await EnsureAccountAsync(name, Roles.Viewer);
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = BaseAddress };
        (await client.PostAsJsonAsync("/api/auth/login", new { userName = name, password = StaffPassword })).EnsureSuccessStatusCode();
        return client;
    }

    public static async Task ShotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png") });
    }
}

[CollectionDefinition(Name)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "xUnit names shared fixtures collections")]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "Console";
}
