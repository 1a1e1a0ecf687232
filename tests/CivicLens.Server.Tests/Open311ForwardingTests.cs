using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Reports.Cases;
using CivicLens.Server.Cases;
using CivicLens.Server.Open311;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace CivicLens.Server.Tests;

/// <summary>
/// Forwarding a department's cases to its own Open311 system, against a real GeoReport v2 server on loopback
/// (real HTTP): one remote request per case whatever follows, its id (or token) kept on the case, later notices
/// written in the history instead of sent, and the remote status read back, a remote "closed" closing the case.
/// </summary>
public sealed class Open311ForwardingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>The sample district with Parking Enforcement working in the remote system instead of by email.</summary>
    private static string District(TempDirectory dir, string baseUrl, string keyEnv)
    {
        var yaml = File.ReadAllText(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));
        const string email = "      - email: parking@sample-district.example\n";
        Assert.Contains(email, yaml, StringComparison.Ordinal);
        yaml = yaml.Replace(email, $"      - open311:\n          url: {baseUrl}\n          api_key_env: {keyEnv}\n", StringComparison.Ordinal);
        var path = Path.Combine(dir.Path, "district.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private sealed class Fixture(TempDirectory dir, FakeGeoReport remote, TestServer server) : IAsyncDisposable
    {
        public FakeGeoReport Remote { get; } = remote;

        public TestServer Server { get; } = server;

        public static async Task<Fixture> StartAsync(string provider, bool tokens = false)
        {
            var keyEnv = "CIVICLENS_TEST_O311_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
            var key = "remote-key-" + Guid.NewGuid().ToString("N");
            Environment.SetEnvironmentVariable(keyEnv, key);
            var remote = await FakeGeoReport.StartAsync(key, tokens);
            var dir = new TempDirectory();
            var path = District(dir, remote.BaseUrl, keyEnv);
            var server = await TestServer.StartAsync(provider, o => o with { ConfigPath = path }, b => FastOutbox.Configure(b, TimeSpan.FromSeconds(5)));
            return new Fixture(dir, remote, server);
        }

        /// <summary>Files an illegal-parking report through this server's own Open311 door; returns its case id.</summary>
        public async Task<long> ReportParkingAsync()
        {
            var admin = await Server.AdminAsync();
            var k = await admin.PostAsJsonAsync("/api/keys", new { name = "app-" + Guid.NewGuid().ToString("N")[..6], scope = "open311" });
            var key = (await k.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
            var r = await Server.Client().PostAsync("/open311/v2/requests.json", new FormUrlEncodedContent(
            [
                new("api_key", key),
                new("service_code", "illegal-parking"),
                new("lat", "53.8008"),
                new("long", "-1.5495"),
                new("description", "Van on the footway by the plaza"),
                new("attribute[blocking][]", "footway"),
                new("attribute[blocking][]", "driveway"),
            ]));
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            var id = long.Parse((await r.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("service_request_id").GetString()!, CultureInfo.InvariantCulture);
            await using var db = await Db();
            var report = await db.Reports.SingleAsync(x => x.Id == id);
            Assert.Equal("""{"blocking":["footway","driveway"]}""", report.Attributes);
            return report.CaseId!.Value;
        }

        public Task<CivicLensDb> Db() => Server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();

        public async Task<CaseRecord> CaseAsync(long id)
        {
            await using var db = await Db();
            return await db.Cases.AsNoTracking().Include(c => c.History).SingleAsync(c => c.Id == id);
        }

        public async Task<bool> OutboxDoneAsync()
        {
            await using var db = await Db();
            return !await db.Outbox.AnyAsync(m => m.Channel == "open311:parking" && m.DeliveredAt == null);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Remote.DisposeAsync();
            dir.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Forwarding_OneRemoteRequestPerCase_IdKept_LaterNoticesOnlyInHistory_RemoteCloseClosesHere(string provider)
    {
        await using var f = await Fixture.StartAsync(provider);
        var caseId = await f.ReportParkingAsync();
        await Eventually.TrueAsync(async () => (await f.CaseAsync(caseId)).RemoteRequestId is not null, Deadline, "the case's remote request id kept");
        var c = await f.CaseAsync(caseId);
        Assert.Equal("SR-1", c.RemoteRequestId);
        Assert.Equal("parking", c.RemoteDepartmentId);
        Assert.Contains(c.History, h => h.Change == "forwarded to Parking Enforcement's Open311 system as request SR-1");
        var posted = Assert.Single(f.Remote.Posts);
        Assert.Equal("illegal-parking", posted["service_code"]);

        // Another report, an escalation: the desk's own notices for the same case, after the first was forwarded.
        var desk = f.Server.Service<CaseDesk>();
        await using (var db = await f.Db())
        {
            var tracked = await db.Cases.SingleAsync(x => x.Id == caseId);
            desk.Notify(db, tracked, NoticeKinds.ReportAdded, DateTimeOffset.UtcNow);
            desk.Notify(db, tracked, NoticeKinds.Escalated, DateTimeOffset.UtcNow.AddSeconds(1), "not acknowledged in time");
            await db.SaveChangesAsync();
        }

        await Eventually.TrueAsync(f.OutboxDoneAsync, Deadline, "the later notices handled");
        Assert.Single(f.Remote.Posts);
        c = await f.CaseAsync(caseId);
        Assert.Equal("SR-1", c.RemoteRequestId);
        Assert.Contains(c.History, h => h.Change.StartsWith("case.report-added not forwarded to Parking Enforcement's Open311 system: the case is its request SR-1", StringComparison.Ordinal));
        Assert.Contains(c.History, h => h.Change.StartsWith("case.escalated not forwarded", StringComparison.Ordinal));

        // Read back: open stays open (status and time kept); closed there closes it here.
        var poller = f.Server.Service<Open311StatusPoller>();
        Assert.Equal(0, await poller.RunOnceAsync(CancellationToken.None));
        c = await f.CaseAsync(caseId);
        Assert.Equal("open", c.RemoteStatus);
        Assert.NotNull(c.RemoteCheckedAt);
        Assert.Equal(CaseStates.Open, c.State);
        Assert.Equal(["SR-1"], f.Remote.StatusReads.ToArray());

        f.Remote.Close("SR-1");
        Assert.Equal(1, await poller.RunOnceAsync(CancellationToken.None));
        c = await f.CaseAsync(caseId);
        Assert.Equal(CaseStates.Closed, c.State);
        Assert.Equal("closed", c.RemoteStatus);
        Assert.NotNull(c.ClosedAt);
        Assert.Contains(c.History, h => h.Actor == "system" && h.Change.Contains("closed in Parking Enforcement's system", StringComparison.Ordinal));

        // A closed case is not read back again.
        Assert.Equal(0, await poller.RunOnceAsync(CancellationToken.None));
        Assert.Equal(2, f.Remote.StatusReads.Count);
    }

    [Fact]
    public async Task Forwarding_RemoteAnswersWithAToken_TokenKeptThenResolvedByTheReadBack()
    {
        await using var f = await Fixture.StartAsync(nameof(StorageProvider.Sqlite), tokens: true);
        var caseId = await f.ReportParkingAsync();
        await Eventually.TrueAsync(async () => (await f.CaseAsync(caseId)).RemoteRequestId is not null, Deadline, "the remote token kept");
        Assert.Equal("token:tok-1", (await f.CaseAsync(caseId)).RemoteRequestId);

        var poller = f.Server.Service<Open311StatusPoller>();
        f.Remote.Close("SR-1");
        Assert.Equal(1, await poller.RunOnceAsync(CancellationToken.None));
        var c = await f.CaseAsync(caseId);
        Assert.Equal("SR-1", c.RemoteRequestId);
        Assert.Equal(CaseStates.Closed, c.State);
        Assert.Equal(["tok-1"], f.Remote.TokenReads.ToArray());
    }

    [Fact]
    public async Task Forwarding_RemoteRefusesFirst_NothingKept_TheRetryCreatesTheOneRequest()
    {
        await using var f = await Fixture.StartAsync(nameof(StorageProvider.Sqlite));
        f.Remote.Refuse = true;
        var caseId = await f.ReportParkingAsync();
        await Eventually.TrueAsync(async () =>
        {
            await using var db = await f.Db();
            return await db.Outbox.AnyAsync(m => m.Channel == "open311:parking" && m.Attempts >= 2 && m.LastError == "HTTP 400: service_code not found");
        }, Deadline, "two refused attempts recorded");
        Assert.Null((await f.CaseAsync(caseId)).RemoteRequestId);
        Assert.Equal(0, await f.Server.Service<Open311StatusPoller>().RunOnceAsync(CancellationToken.None));
        Assert.Empty(f.Remote.StatusReads);

        // The failed POSTs gave their claim back: the retry that is accepted creates the case's one request.
        f.Remote.Refuse = false;
        await Eventually.TrueAsync(async () => (await f.CaseAsync(caseId)).RemoteRequestId is not null, Deadline, "the accepted retry's id kept");
        await Eventually.TrueAsync(f.OutboxDoneAsync, Deadline, "the outbox drained");
        Assert.Equal("SR-1", (await f.CaseAsync(caseId)).RemoteRequestId);
        Assert.Single(f.Remote.Posts);
    }

    /// <summary>
    /// A department's GeoReport v2 server on loopback: POST requests.json (api key checked; answers a
    /// service_request_id, or only a token), GET tokens/{token}.json, GET requests/{id}.json with a settable status.
    /// </summary>
    internal sealed class FakeGeoReport : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, string> _status = new(StringComparer.Ordinal);
        private int _count;

        private FakeGeoReport(string apiKey, bool tokens)
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            _app.MapPost("/open311/v2/requests.json", async (HttpContext c) =>
            {
                var form = (await c.Request.ReadFormAsync()).ToDictionary(x => x.Key, x => x.Value.ToString(), StringComparer.Ordinal);
                if (Refuse) return Results.Text(Error(400, "service_code not found"), "application/json", statusCode: 400);
                if (!form.TryGetValue("api_key", out var key) || key != apiKey) return Results.Text(Error(403, "api_key is not valid"), "application/json", statusCode: 403);
                Posts.Enqueue(form);
                var n = Interlocked.Increment(ref _count).ToString(CultureInfo.InvariantCulture);
                _status["SR-" + n] = "open";
                object answer = tokens ? new { token = "tok-" + n } : new { service_request_id = "SR-" + n };
                return Results.Text(JsonSerializer.Serialize(new[] { answer }), "application/json", statusCode: 201);
            });
            _app.MapGet("/open311/v2/tokens/{token}.json", (string token) =>
            {
                TokenReads.Enqueue(token);
                var id = "SR-" + token["tok-".Length..];
                return Results.Text(JsonSerializer.Serialize(new[] { new { service_request_id = id, token } }), "application/json");
            });
            _app.MapGet("/open311/v2/requests/{id}.json", (string id) =>
            {
                StatusReads.Enqueue(id);
                return _status.TryGetValue(id, out var s)
                    ? Results.Text(JsonSerializer.Serialize(new[] { new { service_request_id = id, status = s, status_notes = "" } }), "application/json")
                    : Results.Text(Error(404, "not found"), "application/json", statusCode: 404);
            });
        }

        public bool Refuse { get; set; }

        public ConcurrentQueue<Dictionary<string, string>> Posts { get; } = new();

        public ConcurrentQueue<string> StatusReads { get; } = new();

        public ConcurrentQueue<string> TokenReads { get; } = new();

        public string BaseUrl { get; private set; } = "";

        public void Close(string id) => _status[id] = "closed";

        public static async Task<FakeGeoReport> StartAsync(string apiKey, bool tokens)
        {
            var remote = new FakeGeoReport(apiKey, tokens);
            await remote._app.StartAsync();
            remote.BaseUrl = remote._app.Urls.First() + "/open311/v2";
            return remote;
        }

        private static string Error(int code, string description) => JsonSerializer.Serialize(new[] { new { code, description } });

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
