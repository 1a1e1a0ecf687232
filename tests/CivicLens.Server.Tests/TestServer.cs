using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CivicLens.Server.Tests;

/// <summary>
/// The real server on a loopback port over a temp data folder and a real database (SQLite by default, or the
/// test PostgreSQL), with the sample district imported and no pipelines (tests post events or ingest them).
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string AdminPassword = "lamp post harbour plaza 7";
    public const string StaffPassword = "a long passphrase for staff 9";

    private readonly TempDirectory _dir;
    private readonly TestDatabase? _db;
    private readonly List<HttpClient> _clients = [];

    private TestServer(WebApplication app, TempDirectory dir, TestDatabase? db, ServerOptions options)
    {
        App = app;
        _dir = dir;
        _db = db;
        Options = options;
        BaseAddress = new Uri(app.Urls.First());
    }

    public WebApplication App { get; }

    public ServerOptions Options { get; }

    public Uri BaseAddress { get; }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static async Task<TestServer> StartAsync(string provider = nameof(StorageProvider.Sqlite), Func<ServerOptions, ServerOptions>? tweak = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var dir = new TempDirectory();
        var db = provider == nameof(StorageProvider.Sqlite) ? null : await TestDatabase.CreateAsync(provider, migrate: false);
        var options = new ServerOptions
        {
            DataDirectory = dir.Path,
            Storage = db?.Options,
            Urls = ["http://127.0.0.1:0"],
            ConfigPath = Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"),
            ModelsDirectory = TestAssets.ModelsDirectory,
            RunPipelines = false,
            AdminPassword = AdminPassword,
            // Tests log in many accounts from one address.
            LoginAttemptsPerMinute = 1000,
            RequestsPerMinute = 100_000,
        };
        options = tweak?.Invoke(options) ?? options;
        var app = await ServerHost.BuildAsync(options, b =>
        {
            b.Logging.ClearProviders();
            b.Logging.AddFilter(_ => false);
            configure?.Invoke(b);
        });
        await app.StartAsync();
        return new TestServer(app, dir, db, options);
    }

    /// <summary>A client with its own cookie jar (one browser).</summary>
    public HttpClient Client()
    {
        var cookies = new CookieContainer();
        // A request that asks "Expect: 100-continue" waits for the server's word before its body, as a careful
        // uploader does; the wait is long so a busy test machine does not send a body the server already refused.
        var handler = new SocketsHttpHandler
        {
            CookieContainer = cookies,
            UseCookies = true,
            AllowAutoRedirect = false,
            Expect100ContinueTimeout = TimeSpan.FromSeconds(30),
        };
        var client = new HttpClient(handler)
        {
            BaseAddress = BaseAddress,
        };
        _clients.Add(client);
        _cookies[client] = cookies;
        return client;
    }

    private readonly Dictionary<HttpClient, CookieContainer> _cookies = [];

    /// <summary>The session cookies of a client from <see cref="Client"/> (for a SignalR connection as the same browser).</summary>
    public CookieContainer CookiesOf(HttpClient client) => _cookies[client];

    /// <summary>Logs in, enrolling the second factor the first time the role needs one (as a person with an authenticator app would).</summary>
    public async Task<HttpClient> LoginAsync(string user, string password)
    {
        var client = Client();
        var first = await client.PostAsJsonAsync("/api/auth/login", new { userName = user, password });
        if (first.StatusCode == HttpStatusCode.OK) return client;
        Assert.Equal(HttpStatusCode.Unauthorized, first.StatusCode);
        var problem = await first.Content.ReadFromJsonAsync<JsonElement>();
        var kind = problem.GetProperty("secondFactor").GetString();
        var secret = kind == "enrol" ? problem.GetProperty("secret").GetString()! : _secrets[user];
        _secrets[user] = secret;
        var code = NextCode(user, secret);
        var second = await client.PostAsJsonAsync("/api/auth/login", new { userName = user, password, code });
        Assert.True(second.StatusCode == HttpStatusCode.OK, $"login of {user} with a code: {(int)second.StatusCode} {await second.Content.ReadAsStringAsync()}");
        return client;
    }

    private readonly Dictionary<string, string> _secrets = [];
    private readonly Dictionary<string, long> _lastStep = [];

    /// <summary>A valid code the server has not seen yet (codes are single-use; a window allows one step ahead).</summary>
    public string NextCode(string user, string base32Secret)
    {
        var secret = Base32.Decode(base32Secret);
        var now = Totp.StepAt(Service<TimeProvider>().GetUtcNow());
        var step = _lastStep.TryGetValue(user, out var last) && last >= now ? last + 1 : now;
        if (step > now + 1) throw new InvalidOperationException($"{user} logged in more than twice in one 30 s step; reuse the client.");
        _lastStep[user] = step;
        return Totp.Code(secret, step);
    }

    /// <summary>Creates an account through the admin API and returns it logged in.</summary>
    public async Task<HttpClient> StaffAsync(string role, params string[] areas)
    {
        var admin = await AdminAsync();
        var name = $"{role}-{(areas.Length == 0 ? "all" : string.Join("-", areas))}";
        if (!_staff.Contains(name))
        {
            var created = await admin.PostAsJsonAsync("/api/users", new { userName = name, password = StaffPassword, role, areas = areas.Length == 0 ? null : areas });
            Assert.True(created.IsSuccessStatusCode, $"create {name}: {await created.Content.ReadAsStringAsync()}");
            _staff.Add(name);
        }

        return await LoginAsync(name, StaffPassword);
    }

    private readonly HashSet<string> _staff = [];
    private HttpClient? _admin;

    public async Task<HttpClient> AdminAsync() => _admin ??= await LoginAsync("admin", AdminPassword);

    /// <summary>An ingest API key made through the admin API.</summary>
    public async Task<string> ApiKeyAsync(string name = "node-1")
    {
        var admin = await AdminAsync();
        var created = await admin.PostAsJsonAsync("/api/keys", new { name });
        created.EnsureSuccessStatusCode();
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients) c.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
