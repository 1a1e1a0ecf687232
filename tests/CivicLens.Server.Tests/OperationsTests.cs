using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Server.Operations;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CivicLens.Server.Tests;

/// <summary>
/// Alone, after the parallel tests: the pipeline's and the photo intake's instruments are process-wide, so another
/// test's server running beside this one would put its figures into this server's scrape.
/// </summary>
[CollectionDefinition(nameof(SerialOperationsTests), DisableParallelization = true)]
public sealed class SerialOperationsTests;

/// <summary>
/// docs/operations.md: the health endpoints a load balancer polls (anonymous, one status word) and <c>/metrics</c>
/// for Prometheus (a metrics key or an admin), which must pass <c>promtool check metrics</c>.
/// </summary>
[Collection(nameof(SerialOperationsTests))]
public sealed partial class OperationsTests
{
    // A deadline, not a timing claim: each ready probe may itself wait up to StoreReadyCheck.Timeout (5 s) on a busy CI machine.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Health_RunningStore_LiveAndReadyAnswer200WithOnlyAStatusWord()
    {
        await using var server = await TestServer.StartAsync();
        var anonymous = server.Client();
        foreach (var path in new[] { OperationsSetup.LivePath, OperationsSetup.ReadyPath })
        {
            using var r = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("Healthy", await r.Content.ReadAsStringAsync());
            Assert.Equal("text/plain", r.Content.Headers.ContentType?.MediaType);
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Ready_StoreGone_Answers503WhileLiveStays200_AndRecoversWhenTheStoreIsBack(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var anonymous = server.Client();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(OperationsSetup.ReadyPath)).StatusCode);

        await SetStoreGoneAsync(server, gone: true);
        try
        {
            await Eventually.TrueAsync(async () => (await anonymous.GetAsync(OperationsSetup.ReadyPath)).StatusCode == HttpStatusCode.ServiceUnavailable,
                Deadline, "/health/ready to answer 503 with the store gone");
            using var ready = await anonymous.GetAsync(OperationsSetup.ReadyPath);
            // One word: nothing about the database, its address or the error reaches an anonymous caller.
            Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
            using var live = await anonymous.GetAsync(OperationsSetup.LivePath);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await SetStoreGoneAsync(server, gone: false);
        }

        await Eventually.TrueAsync(async () => (await anonymous.GetAsync(OperationsSetup.ReadyPath)).StatusCode == HttpStatusCode.OK,
            Deadline, "/health/ready to answer 200 once the store is back");
    }

    [Fact]
    public async Task Metrics_AnsweredOnlyToAMetricsKeyOrAnAdmin_AndTheKeyReachesNothingElse()
    {
        await using var server = await TestServer.StartAsync();
        var metrics = KeyClient(server, await MetricsKeyAsync(server));

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync(OperationsSetup.MetricsPath)).StatusCode);
        var operatorSession = await server.StaffAsync(Roles.Operator);
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorSession.GetAsync(OperationsSetup.MetricsPath)).StatusCode);
        var node = KeyClient(server, await server.ApiKeyAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await node.GetAsync(OperationsSetup.MetricsPath)).StatusCode);

        using var scraped = await metrics.GetAsync(OperationsSetup.MetricsPath);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Equal("text/plain", scraped.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE ", await scraped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var admin = await server.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(OperationsSetup.MetricsPath)).StatusCode);
        // Operations endpoints are not part of the API contract (docs/api/openapi.json).
        var document = await admin.GetStringAsync("/api/openapi/v1.json");
        Assert.DoesNotContain("\"/metrics\"", document, StringComparison.Ordinal);
        Assert.DoesNotContain("\"/health/", document, StringComparison.Ordinal);

        // The scraper's key reads metrics and nothing else: no events, no ingest.
        Assert.Equal(HttpStatusCode.Forbidden, (await metrics.GetAsync("/api/events")).StatusCode);
        using var ingest = await metrics.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event() } });
        Assert.Equal(HttpStatusCode.Forbidden, ingest.StatusCode);
    }

    [Fact]
    public async Task Metrics_AfterAnIngestCommit_CountTheCommitAndTheBacklog_AndPassPromtool()
    {
        // A webhook nobody listens on: its messages stay in the outbox, the backlog the gauge must show.
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var server = await TestServer.StartAsync(
            tweak: o => o with { Webhooks = [new WebhookTarget("ops", new Uri($"http://127.0.0.1:{port}/hook"), "operations test secret, 32 chars")] },
            configure: b => FastOutbox.Configure(b, TimeSpan.FromSeconds(1)));
        var metrics = KeyClient(server, await MetricsKeyAsync(server));
        var node = KeyClient(server, await server.ApiKeyAsync());

        using var posted = await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { Event(), Event() } });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());

        var text = "";
        await Eventually.TrueAsync(async () =>
            {
                text = await metrics.GetStringAsync(OperationsSetup.MetricsPath);
                return Sample(text, "civiclens_ingest_commits_total") >= 1 && Sample(text, "civiclens_ingest_events_total", "kind=\"zone.occupancy\"") == 2
                    && Sample(text, "civiclens_outbox_backlog", "channel=\"webhook:ops\"") == 2;
            },
            Deadline, "the ingest commit, its 2 events and the outbox backlog of 2 in /metrics");
        Assert.Equal("counter", TypeOf(text, "civiclens_ingest_commits_total"));
        Assert.Equal("gauge", TypeOf(text, "civiclens_outbox_backlog"));
        // The process and runtime figures come along.
        Assert.Contains("\nprocess_", text, StringComparison.Ordinal);
        Assert.Contains("\ndotnet_", text, StringComparison.Ordinal);

        var (exit, output) = await PromtoolCheckAsync(text);
        Assert.True(exit == 0 && output.Length == 0, $"promtool check metrics exited {exit}:\n{output}\n--- the scrape ---\n{text}");
    }

    [Fact]
    public async Task Metrics_WithACameraRunning_PerCameraAndDetectorFigures_AndPassPromtool()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { RunPipelines = true, SampleFps = 5 });
        var metrics = KeyClient(server, await MetricsKeyAsync(server));
        var text = "";
        await Eventually.TrueAsync(async () =>
            {
                text = await metrics.GetStringAsync(OperationsSetup.MetricsPath);
                return Sample(text, "civiclens_camera_frames_analysed_total", "camera=\"vtest\"") > 5 && Sample(text, "civiclens_cameras_running", "state=\"streaming\"") == 1
                    && text.Contains("civiclens_detector_batch_duration_seconds_bucket", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(90), "the sample camera's frames, its state and the detector's latency in /metrics");
        Assert.True(Sample(text, "civiclens_camera_frames_read_total", "camera=\"vtest\"") >= Sample(text, "civiclens_camera_frames_analysed_total", "camera=\"vtest\""));
        Assert.True(Sample(text, "civiclens_detector_queue_depth") >= 0);
        var (exit, output) = await PromtoolCheckAsync(text);
        Assert.True(exit == 0 && output.Length == 0, $"promtool check metrics exited {exit}:\n{output}\n--- the scrape ---\n{text}");
    }

    private static object Event() => new
    {
        id = Guid.NewGuid(),
        kind = "zone.occupancy",
        phase = "start",
        camera = "vtest",
        rule = "crowding",
        category = "crowding",
        at = DateTimeOffset.UtcNow,
        count = 7,
        confidence = 0.7,
    };

    private static HttpClient KeyClient(TestServer server, string key)
    {
        var client = server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ApiKeyHandler.SchemeName, key);
        return client;
    }

    private static async Task<string> MetricsKeyAsync(TestServer server)
    {
        var admin = await server.AdminAsync();
        using var created = await admin.PostAsJsonAsync("/api/keys", new { name = "prometheus", scope = ApiKeyHandler.MetricsScope });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels hold <paramref name="label"/>; -1 if none.</summary>
    private static double Sample(string text, string name, string label = "")
    {
        foreach (Match m in SampleLine().Matches(text))
        {
            if (m.Groups["name"].Value != name || !m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)) continue;
            return double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return -1;
    }

    private static string? TypeOf(string text, string family) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith($"# TYPE {family} ", StringComparison.Ordinal))?.Split(' ')[3];

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    /// <summary>Debian's <c>promtool</c> (package prometheus, installed by tools/setup.sh --test): it prints lint problems and exits non-zero on them.</summary>
    private static async Task<(int Exit, string Output)> PromtoolCheckAsync(string scrape)
    {
        const string promtool = "/usr/bin/promtool";
        Assert.True(File.Exists(promtool), $"{promtool} is missing: install Debian's prometheus package (tools/setup.sh --test does)");
        var start = new ProcessStartInfo(promtool) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(scrape);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, ((await stdout) + (await stderr)).Trim());
    }

    /// <summary>The store gone as the server sees it: SQLite's folder unmounted, or PostgreSQL refusing connections.</summary>
    private static async Task SetStoreGoneAsync(TestServer server, bool gone)
    {
        var storage = server.Options.EffectiveStorage;
        if (storage.Provider == StorageProvider.Sqlite)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(new SqliteConnectionStringBuilder(storage.ConnectionString).DataSource))!;
            // Open connections would go on reading the moved file; new ones find no folder.
            SqliteConnection.ClearAllPools();
            if (gone) Directory.Move(folder, folder + ".gone");
            else Directory.Move(folder + ".gone", folder);
            return;
        }

        var target = new NpgsqlConnectionStringBuilder(storage.ConnectionString).Database!;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(Environment.GetEnvironmentVariable(TestDatabase.PostgresVariable));
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            $"ALTER DATABASE {target} WITH ALLOW_CONNECTIONS {(gone ? "false" : "true")}; " +
            (gone ? $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{target}';" : ""), conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
