using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Xunit.Abstractions;

using static CivicLens.Cluster.Tests.Failover.ClusterTestKit;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>
/// Two hubs on one PostgreSQL and one shared folder, as a load balancer would use them, and a node with a real RTSP
/// camera: a hub that brings its own keys or folder is refused; a session made on one hub works on the other; both
/// consoles see the same live events; evidence stored through one is served by the other; when a hub is killed in the
/// middle of audited requests, the other keeps the session, the feed and the jobs, and the audit chain holds.
/// </summary>
[Collection(ClusterProcesses.Name)]
public sealed class TwoHubsTests(ITestOutputHelper output)
{
    private const string AdminPassword = "Two hubs test pass 5512 wren";
    private const string WatcherPassword = "Quiet pass 8812 plover gate";

    [Fact]
    public async Task Two_hubs_share_sessions_feed_and_evidence_and_the_district_outlives_either()
    {
        var processes = new List<ClusterProcess>();
        await using var db = await TestDatabase.CreateAsync("PostgreSql", migrate: false);
        using var dir = TestAssets.CreateTempDirectory();
        await using var camera = await RtspCamera.StartAsync(TestAssets.SampleVideo, "hub-cam");
        try
        {
            var district = Path.Combine(dir.Path, "district.yaml");
            await File.WriteAllTextAsync(district, await DistrictAsync([camera], ["hub-cam"], "Two-hub test of the cluster"));
            var env = new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = db.Options.ConnectionString!, ["CIVICLENS_ADMIN_PASSWORD"] = AdminPassword };
            var shared = Path.Combine(dir.Path, "shared");
            // Originals are sealed on the node with the district's key and kept by the hubs in the shared folder.
            var sealingKey = Path.Combine(dir.Path, "sealing.key");
            CivicLens.Privacy.Sealed.SealingKey.Create(sealingKey).Dispose();
            var urlA = $"http://127.0.0.1:{ClusterProcess.FreePort()}";
            var urlB = $"http://127.0.0.1:{ClusterProcess.FreePort()}";
            ClusterProcess Hub(string name, string data, string sharedFolder, string url) => ClusterProcess.Start(name, env, "serve", "--cluster", "--name", name,
                "--silo-port", ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--config", district, "--data", Path.Combine(dir.Path, data),
                "--shared", sharedFolder, "--urls", url, "--sealing-key", sealingKey);

            var hubA = Hub("hub-a", "hub-a", shared, urlA);
            processes.Add(hubA);
            await WaitServingAsync(hubA, processes);

            // A hub with a key and a folder of its own would serve errors and half the evidence: refused, both named.
            var stranger = Hub("hub-x", "hub-x", Path.Combine(dir.Path, "elsewhere"), $"http://127.0.0.1:{ClusterProcess.FreePort()}");
            processes.Add(stranger);
            Assert.True(await stranger.WaitForExitAsync(TimeSpan.FromSeconds(90)), "a hub with its own secrets key and folder must stop" + Logs(processes));
            Assert.Equal(2, stranger.ExitCode);
            Assert.Contains("secrets key", stranger.Output, StringComparison.Ordinal);
            Assert.Contains("shared folder", stranger.Output, StringComparison.Ordinal);

            // The second hub as docs/cluster.md says: the first hub's secrets key, the same shared folder.
            Directory.CreateDirectory(Path.Combine(dir.Path, "hub-b", "keys"));
            var key = Path.Combine(dir.Path, "hub-b", "keys", "secrets.key");
            File.Copy(Path.Combine(dir.Path, "hub-a", "keys", "secrets.key"), key);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var hubB = Hub("hub-b", "hub-b", shared, urlB);
            processes.Add(hubB);
            await WaitServingAsync(hubB, processes);
            // The node's machine has its wall clock three minutes ahead (no NTP): its events must still be filed at the right time.
            Assert.True(File.Exists("/usr/bin/faketime"), "faketime is missing: tools/setup.sh --test installs it");
            var node = ClusterProcess.StartUnder(["faketime", "-f", "+180s"], "n1", env, "node", "--name", "n1", "--silo-port", ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture),
                "--capacity", "2", "--data", Path.Combine(dir.Path, "n1"), "--fps", "1", "--sealing-key", sealingKey);
            processes.Add(node);

            await using var store = NpgsqlDataSource.Create(db.Options.ConnectionString!);
            await WaitAsync(async () => await ScalarAsync(store, "SELECT count(*) FROM events WHERE snapshot IS NOT NULL") > 0, TimeSpan.FromSeconds(150),
                "an event with its evidence from the node", processes);

            // Each stored event's original reached the hubs' shared folder sealed, and the node kept none once acknowledged.
            var sealedId = await ScalarGuidAsync(store, "SELECT id FROM events WHERE snapshot IS NOT NULL ORDER BY stored_at LIMIT 1");
            await WaitAsync(() => Task.FromResult(File.Exists(Path.Combine(shared, "sealed", sealedId.ToString("N") + ".sealed"))), TimeSpan.FromSeconds(30),
                "the first event's sealed original in the hubs' shared folder", processes);
            await WaitAsync(() => Task.FromResult(!File.Exists(Path.Combine(dir.Path, "n1", "sealed", sealedId.ToString("N") + ".sealed"))), TimeSpan.FromSeconds(30),
                "the node to delete the original a hub acknowledged", processes);

            // Filed at the hubs' time, not the node's: the newest event is not minutes in the future.
            await WaitAsync(() => Task.FromResult(node.Output.Contains("clock is -180", StringComparison.Ordinal) || node.Output.Contains("clock is -179", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(60), "the node to measure its clock three minutes ahead of the hubs'", processes);
            var ahead = await ScalarAsync(store, "SELECT max(at) - (extract(epoch from now()) * 1000)::bigint FROM events");
            Assert.True(ahead < 30_000, $"the newest event is filed {ahead / 1000} s in the future: the node's skew was not corrected");

            // A session made on hub A is valid on hub B: one cookie, as a browser behind a load balancer sends it.
            var cookies = new CookieContainer();
            using var viaA = Browser(urlA, cookies);
            using var viaB = Browser(urlB, cookies);
            var admin = await LoginAsync(urlA, "admin", AdminPassword);
            var created = await admin.PostAsJsonAsync("/api/users", new { userName = "watcher", password = WatcherPassword, role = Roles.Viewer });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            var login = await viaA.PostAsJsonAsync("/api/auth/login", new { userName = "watcher", password = WatcherPassword });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await viaB.GetAsync("/api/auth/me")).StatusCode);

            // Both consoles see the same events, whichever hub the node's events came in through.
            var seenA = new List<Guid>();
            var seenB = new List<Guid>();
            await using var feedA = await FeedAsync(urlA, cookies, seenA);
            await using var feedB = await FeedAsync(urlB, cookies, seenB);
            await WaitAsync(() => Task.FromResult(Common(seenA, seenB).Count > 0), TimeSpan.FromSeconds(90), "one event live on both hubs' feeds", processes);

            // Evidence stored through either hub is served by both.
            var evidenced = await ScalarGuidAsync(store, "SELECT id FROM events WHERE snapshot IS NOT NULL ORDER BY at DESC LIMIT 1");
            foreach (var client in new[] { viaA, viaB })
            {
                var picture = await client.GetAsync($"/api/events/{evidenced}/snapshot");
                Assert.Equal(HttpStatusCode.OK, picture.StatusCode);
                Assert.Equal("image/jpeg", picture.Content.Headers.ContentType?.MediaType);
            }

            // Hub A dies in the middle of audited requests (each evidence view writes an audit record).
            using var stop = new CancellationTokenSource();
            var load = Task.WhenAll(Hammer(viaA, evidenced, stop.Token), Hammer(viaB, evidenced, stop.Token));
            await Task.Delay(TimeSpan.FromSeconds(2));
            hubA.Kill();
            var storedBefore = await ScalarAsync(store, "SELECT count(*) FROM events");
            int countB;
            lock (seenB) countB = seenB.Count;

            // Hub B keeps the session, takes the node's events (its intake moves to B) and its console's feed goes on.
            Assert.Equal(HttpStatusCode.OK, (await viaB.GetAsync("/api/auth/me")).StatusCode);
            await WaitAsync(async () => await ScalarAsync(store, "SELECT count(*) FROM events") > storedBefore, TimeSpan.FromSeconds(90), "events stored after hub A died", processes);
            await WaitAsync(() => { lock (seenB) return Task.FromResult(seenB.Count > countB); }, TimeSpan.FromSeconds(90), "new events on hub B's feed after hub A died", processes);
            // The cluster-wide jobs (SLA watch, retention, delivery) follow the leader to hub B.
            await WaitAsync(() => Task.FromResult(hubB.Output.Contains("This hub leads the district", StringComparison.Ordinal)), TimeSpan.FromSeconds(60),
                "hub B to lead the district", processes);
            await stop.CancelAsync();
            var answered = await load;
            var (okA, okB) = (answered[0], answered[1]);
            output.WriteLine($"audited evidence views answered: {okA} through hub A (until it died), {okB} through hub B");
            Assert.True(okB > 0);

            // The hash chain holds with two writers and one of them killed mid-write, by both hubs' anchors.
            foreach (var data in new[] { "hub-a", "hub-b" })
            {
                await using var verify = ClusterProcess.Start("audit", env, "audit", "verify", "--data", Path.Combine(dir.Path, data));
                Assert.True(await verify.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.True(verify.ExitCode == 0, verify.Output);
                Assert.Contains("intact", verify.Output, StringComparison.OrdinalIgnoreCase);
            }
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
    }

    private static async Task<HubConnection> FeedAsync(string url, CookieContainer cookies, List<Guid> seen)
    {
        var hub = new HubConnectionBuilder().WithUrl(new Uri(new Uri(url), "/hubs/live"), o => o.Cookies = cookies).Build();
        hub.On<JsonElement>("event", e =>
        {
            lock (seen) seen.Add(e.GetProperty("id").GetGuid());
        });
        await hub.StartAsync();
        return hub;
    }

    private static List<Guid> Common(List<Guid> a, List<Guid> b)
    {
        lock (a)
        {
            lock (b) return [.. a.Intersect(b)];
        }
    }

    /// <summary>Audited evidence views in a loop until stopped; answers how many succeeded (a dead hub's fail).</summary>
    private static async Task<int> Hammer(HttpClient client, Guid evidence, CancellationToken ct)
    {
        var ok = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var r = await client.GetAsync($"/api/events/{evidence}/snapshot", ct);
                if (r.IsSuccessStatusCode) ok++;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }

        return ok;
    }

    private static async Task<Guid> ScalarGuidAsync(NpgsqlDataSource store, string sql)
    {
        await using var cmd = store.CreateCommand(sql);
        return (Guid)(await cmd.ExecuteScalarAsync())!;
    }

    private async Task WaitServingAsync(ClusterProcess hub, List<ClusterProcess> processes)
    {
        await WaitAsync(() => Task.FromResult(hub.Output.Contains("CivicLens is serving", StringComparison.Ordinal) || hub.HasExited), TimeSpan.FromSeconds(120),
            $"{hub.Name} to serve", processes);
        Assert.False(hub.HasExited, hub.Output);
        output.WriteLine($"{hub.Name} serving");
    }

}
