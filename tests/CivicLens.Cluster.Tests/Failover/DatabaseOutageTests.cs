using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Npgsql;
using Xunit.Abstractions;

using static CivicLens.Cluster.Tests.Failover.ClusterTestKit;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>
/// PostgreSQL gone for a while under a running cluster (one hub, two nodes, real RTSP cameras, the real detector), on a
/// private PostgreSQL server so the shared one stays up: the hub answers 503 for what needs the store, every process
/// stays up and in the cluster, nodes keep their events journalled; once the database is back, every journalled event
/// is stored exactly once, the cameras stream again and the audit chain holds. The outage lasts 20 s, or 60 s with
/// CIVICLENS_CLUSTER_SOAK set. Measured figures go to the test output (docs/cluster.md quotes them).
/// </summary>
[Collection(ClusterProcesses.Name)]
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    private const string AdminPassword = "Outage test pass 5512 plover";
    private static readonly string[] CameraIds = ["cam-a", "cam-b"];

    [PostgresBinariesFact]
    public async Task DatabaseOutage_HubAnswers503_NodesJournal_AndEverythingCatchesUpExactlyOnce()
    {
        var outage = TimeSpan.FromSeconds(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CIVICLENS_CLUSTER_SOAK")) ? 20 : 60);
        var cameras = new List<RtspCamera>();
        var processes = new List<ClusterProcess>();
        await using var postgres = await PrivatePostgres.StartAsync();
        var connection = await postgres.CreateDatabaseAsync("district");
        using var dir = TestAssets.CreateTempDirectory();
        var journalled = new HashSet<string>(StringComparer.Ordinal);
        using var stopSampling = new CancellationTokenSource();
        Task? sampling = null;
        try
        {
            foreach (var id in CameraIds) cameras.Add(await RtspCamera.StartAsync(TestAssets.SampleVideo, id));
            var district = Path.Combine(dir.Path, "district.yaml");
            await File.WriteAllTextAsync(district, await DistrictAsync(cameras, CameraIds, "Database outage test of the cluster"));
            var env = new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = connection, ["CIVICLENS_ADMIN_PASSWORD"] = AdminPassword };
            var httpPort = ClusterProcess.FreePort();
            var hub = ClusterProcess.Start("hub", env, "serve", "--cluster", "--name", "hub-a", "--silo-port", ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture),
                "--config", district, "--data", Path.Combine(dir.Path, "hub"), "--urls", $"http://127.0.0.1:{httpPort}");
            processes.Add(hub);
            await WaitAsync(() => Task.FromResult(hub.Output.Contains("CivicLens is serving", StringComparison.Ordinal) || hub.HasExited), TimeSpan.FromSeconds(120), "the hub to serve", processes);
            Assert.False(hub.HasExited, hub.Output);
            var nodes = new List<ClusterProcess>();
            foreach (var name in new[] { "n1", "n2" })
            {
                var node = ClusterProcess.Start(name, env, "node", "--name", name, "--silo-port", ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture),
                    // Room to spare: CameraPlacer's sweep (every 2 min) marks every camera "waiting for a node: all worker
                    // nodes are full" when the nodes are exactly full, though they run (a placer matter, not this test's).
                    "--capacity", "2", "--data", Path.Combine(dir.Path, name), "--fps", "1");
                nodes.Add(node);
                processes.Add(node);
            }

            // Every event any node journals, seen while it waits for a hub (the journal empties once a hub took it all).
            sampling = Task.Run(async () =>
            {
                while (!stopSampling.IsCancellationRequested)
                {
                    foreach (var n in nodes)
                    {
                        var ids = PendingEventIds(Path.Combine(dir.Path, n.Name));
                        lock (journalled) journalled.UnionWith(ids);
                    }

                    await Task.Delay(100, CancellationToken.None);
                }
            }, CancellationToken.None);

            await using var store = NpgsqlDataSource.Create(connection);
            await WaitAsync(async () => (await CamerasAsync(store)).All(c => c.Health == "streaming" && c.Node is not null), TimeSpan.FromSeconds(150),
                "every camera streaming on a node", processes, store);
            await WaitAsync(async () => (await EventCountsAsync(store)).Count == CameraIds.Length, TimeSpan.FromSeconds(120), "events from every camera", processes, store);

            // A viewer's session (admins see no footage): the API that reads the store.
            using var http = await ViewerAsync(httpPort);
            var before = await http.GetAsync("/api/events?limit=5");
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            var membersBefore = await MembersAsync(store);
            output.WriteLine("members before: " + string.Join(", ", membersBefore.Select(m => $"{m.Name} {m.Status}")));

            // PostgreSQL gone: every backend ends at once.
            var storedBefore = await ScalarAsync(store, "SELECT count(*) FROM events");
            var clock = Stopwatch.StartNew();
            await postgres.StopAsync();
            output.WriteLine($"PostgreSQL stopped (immediate) with {storedBefore} events stored; outage of {outage.TotalSeconds:0} s");
            var answers = new List<(double At, HttpStatusCode Status, bool RetryAfter, double Ms)>();
            while (clock.Elapsed < outage)
            {
                var asked = Stopwatch.StartNew();
                using (var answer = await http.GetAsync("/api/events?limit=5"))
                {
                    answers.Add((clock.Elapsed.TotalSeconds, answer.StatusCode, answer.Headers.RetryAfter is not null, asked.Elapsed.TotalMilliseconds));
                }

                foreach (var p in processes) Assert.False(p.HasExited, $"{p.Name} exited during the database outage" + Logs(processes));
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            var pending = nodes.ToDictionary(n => n.Name, n => PendingEventIds(Path.Combine(dir.Path, n.Name)), StringComparer.Ordinal);
            output.WriteLine("answers during the outage: " + string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{(int)g.Key} x{g.Count()}"))
                + $"; slowest {answers.Max(a => a.Ms):0} ms");
            output.WriteLine("journalled on the nodes at the end of the outage: " + string.Join(", ", pending.Select(kv => $"{kv.Key} {kv.Value.Count}")));

            // The database comes back (crash recovery first).
            var restart = Stopwatch.StartNew();
            await postgres.StartServerAsync();
            var upAfter = restart.Elapsed.TotalSeconds;
            await WaitAsync(async () => (await http.GetAsync("/api/events?limit=5")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the API to answer 200 again", processes);
            var apiAfter = restart.Elapsed.TotalSeconds;
            await WaitAsync(() => Task.FromResult(nodes.All(n => PendingEventIds(Path.Combine(dir.Path, n.Name)).Count == 0)), TimeSpan.FromSeconds(30),
                "every node to send its journal", processes, store);
            var drainedAfter = restart.Elapsed.TotalSeconds;
            await WaitAsync(async () => (await CamerasAsync(store)).All(c => c.Health == "streaming" && c.Node is not null), TimeSpan.FromSeconds(30),
                "every camera streaming again", processes, store);
            var streamingAfter = restart.Elapsed.TotalSeconds;
            output.WriteLine($"after the restart: PostgreSQL up {upAfter:0.0} s, API 200 {apiAfter:0.0} s, journals sent {drainedAfter:0.0} s, cameras streaming {streamingAfter:0.0} s");

            // Answers: 503 with Retry-After while the store is gone (a 500 would be a bug, a 401 would log the console out).
            Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.ServiceUnavailable && a.RetryAfter,
                $"at {a.At:0.0} s into the outage GET /api/events answered {(int)a.Status} (Retry-After: {a.RetryAfter}); want 503 with Retry-After"));
            foreach (var p in processes) Assert.False(p.HasExited, $"{p.Name} exited after the database outage" + Logs(processes));

            // Nodes kept analysing and journalling: events of the outage waited on their disks.
            Assert.True(pending.Values.Sum(v => v.Count) > 0, "the nodes journalled no event during the outage" + Logs(processes));
            stopSampling.Cancel();
            await sampling;
            List<string> all;
            lock (journalled) all = [.. journalled];
            Assert.True(all.Count >= pending.Values.Sum(v => v.Count));

            // Exactly once: every journalled event is stored; none twice, neither by id (the key) nor as a second row for
            // one detection (same camera, rule, transition, time and box under another id).
            Assert.Equal(all.Count, await StoredAsync(store, all));
            await using (var dup = store.CreateCommand("SELECT count(*) - count(DISTINCT (camera_id, rule, kind, phase, at, coalesce(box, ''))) FROM events"))
            {
                Assert.Equal(0L, (long)(await dup.ExecuteScalarAsync())!);
            }

            // Nobody was declared dead: the same members, all active.
            var membersAfter = await MembersAsync(store);
            output.WriteLine("members after: " + string.Join(", ", membersAfter.Select(m => $"{m.Name} {m.Status}")));
            foreach (var m in membersBefore.Where(m => m.Status == ActiveStatus))
            {
                Assert.Contains(membersAfter, a => a.Address == m.Address && a.Status == ActiveStatus);
            }

            output.WriteLine($"events: {storedBefore} stored before, {await ScalarAsync(store, "SELECT count(*) FROM events")} after; {all.Count} seen journalled on the nodes, all stored once");
            var verify = ClusterProcess.Start("audit", env, "audit", "verify", "--data", Path.Combine(dir.Path, "hub"));
            Assert.True(await verify.WaitForExitAsync(TimeSpan.FromSeconds(60)), "audit verify did not finish");
            Assert.True(verify.ExitCode == 0 && verify.Output.Contains("intact", StringComparison.OrdinalIgnoreCase), verify.Output);
            await verify.DisposeAsync();

            foreach (var p in processes)
            {
                foreach (var line in p.Output.Split('\n').Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).Take(15))
                {
                    output.WriteLine($"{p.Name}: {line.Trim()}");
                }
            }
        }
        catch
        {
            output.WriteLine("--- PostgreSQL log ---\n" + Tail(postgres.Log));
            throw;
        }
        finally
        {
            // Whole logs, for a failure to be read at leisure (the message carries only their tails).
            if (Environment.GetEnvironmentVariable("CIVICLENS_TEST_LOGS") is { Length: > 0 } logs)
            {
                Directory.CreateDirectory(logs);
                foreach (var p in processes) await File.WriteAllTextAsync(Path.Combine(logs, $"outage-{p.Name}-{p.Pid}.log"), p.Output);
                await File.WriteAllTextAsync(Path.Combine(logs, "outage-postgres.log"), postgres.Log);
            }

            await stopSampling.CancelAsync();
            if (sampling is not null) await sampling;
            foreach (var p in processes) await p.DisposeAsync();
            foreach (var c in cameras) await c.DisposeAsync();
        }
    }

    private const int ActiveStatus = 3;

    private sealed record Member(string Address, string Name, int Status);

    /// <summary>Orleans' membership table: every silo's latest entry (status 3 is active, 6 dead).</summary>
    private static async Task<List<Member>> MembersAsync(NpgsqlDataSource store)
    {
        await using var cmd = store.CreateCommand("SELECT address || ':' || port || '@' || generation, siloname, status FROM orleansmembershiptable ORDER BY siloname");
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<Member>();
        while (await r.ReadAsync()) rows.Add(new Member(r.GetString(0), r.GetString(1), r.GetInt32(2)));
        return rows;
    }

    /// <summary>Logs the admin in (enrolling the authenticator), makes a viewer and returns the viewer's session.</summary>
    private static async Task<HttpClient> ViewerAsync(int port)
    {
        using var admin = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var enrol = await admin.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = AdminPassword });
        var secret = (await enrol.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        var code = Totp.Code(Base32.Decode(secret), Totp.StepAt(DateTimeOffset.UtcNow));
        (await admin.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = AdminPassword, code })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/api/users", new { userName = "watch", password = AdminPassword, role = "viewer" })).EnsureSuccessStatusCode();
        var viewer = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = admin.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
        (await viewer.PostAsJsonAsync("/api/auth/login", new { userName = "watch", password = AdminPassword })).EnsureSuccessStatusCode();
        return viewer;
    }
}
