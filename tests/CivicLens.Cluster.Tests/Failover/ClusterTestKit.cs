using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Npgsql;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>What the cluster's process tests share: waiting with the processes' logs, reading the store and the nodes' journals, the test district, logging in.</summary>
internal static class ClusterTestKit
{
    /// <summary>
    /// Waits for a condition (a database or hub that does not answer yet counts as not yet); on a timeout the failure
    /// carries what the processes and the registry said then.
    /// </summary>
    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string awaited, List<ClusterProcess> processes, NpgsqlDataSource? store = null)
    {
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    return await condition();
                }
                catch (Exception ex) when (ex is NpgsqlException or HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, timeout, awaited);
        }
        catch (TimeoutException ex)
        {
            var cameras = "";
            if (store is not null)
            {
                try
                {
                    cameras = "\ncameras: " + string.Join("; ", (await CamerasAsync(store)).Select(c => $"{c.Id} {c.Health} on {c.Node ?? "-"} ({c.Reason})"));
                }
                catch (NpgsqlException)
                {
                }
            }

            throw new TimeoutException(ex.Message + cameras + Logs(processes), ex);
        }
    }

    public static string Logs(IEnumerable<ClusterProcess> processes) =>
        string.Concat(processes.Select(p => $"\n--- {p.Name} ---\n{Tail(p.Output)}"));

    public static string Tail(string s) => s.Length <= 4000 ? s : s[^4000..];

    internal sealed record CameraRow(string Id, string Health, string? Node, string? Reason);

    public static async Task<IReadOnlyList<CameraRow>> CamerasAsync(NpgsqlDataSource store)
    {
        await using var cmd = store.CreateCommand("SELECT id, health, node, health_reason FROM cameras ORDER BY id");
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<CameraRow>();
        while (await r.ReadAsync()) rows.Add(new CameraRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
        return rows;
    }

    public static async Task<Dictionary<string, long>> EventCountsAsync(NpgsqlDataSource store)
    {
        await using var cmd = store.CreateCommand("SELECT camera_id, count(*) FROM events GROUP BY camera_id ORDER BY camera_id");
        await using var r = await cmd.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await r.ReadAsync()) counts[r.GetString(0)] = r.GetInt64(1);
        return counts;
    }

    public static async Task<long> ScalarAsync(NpgsqlDataSource store, string sql)
    {
        await using var cmd = store.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>How many of these event ids are stored.</summary>
    public static async Task<int> StoredAsync(NpgsqlDataSource store, IReadOnlyList<string> ids)
    {
        await using var cmd = store.CreateCommand("SELECT count(*) FROM events WHERE id = ANY(@ids)");
        cmd.Parameters.AddWithValue("ids", ids.Select(Guid.Parse).ToArray());
        return (int)(long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>The ids of events a node journalled and no hub has acknowledged (after its checkpoint), read while the node writes.</summary>
    public static List<string> PendingEventIds(string nodeData)
    {
        var journal = Path.Combine(nodeData, "journal", "events.jsonl");
        var checkpoint = Path.Combine(nodeData, "journal", "committed");
        try
        {
            if (!File.Exists(journal)) return [];
            var start = File.Exists(checkpoint) && long.TryParse(File.ReadAllText(checkpoint).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
            byte[] bytes;
            using (var f = new FileStream(journal, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var ms = new MemoryStream())
            {
                f.CopyTo(ms);
                bytes = ms.ToArray();
            }

            if (start >= bytes.Length) return [];
            var ids = new List<string>();
            foreach (var line in Encoding.UTF8.GetString(bytes, (int)start, bytes.Length - (int)start).Split('\n'))
            {
                // A line being written (or cut at the checkpoint of a journal just emptied) is not an event yet.
                if (line.Length == 0 || !line.EndsWith('}')) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    // Other cameras' views of events (evidence lines) share the journal; they are not events.
                    if (doc.RootElement.TryGetProperty("Id", out var id)) ids.Add(id.GetString()!);
                }
                catch (JsonException)
                {
                }
            }

            return ids;
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>The sample district with one whole-frame person rule per camera.</summary>
    public static async Task<string> DistrictAsync(List<RtspCamera> cameras, IReadOnlyList<string> ids, string purpose)
    {
        var sample = await File.ReadAllTextAsync(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));
        var head = sample[..sample.IndexOf("\ncameras:", StringComparison.Ordinal)];
        var text = new StringBuilder(head).Append("\ncameras:\n");
        for (var i = 0; i < cameras.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"""
              - id: {ids[i]}
                name: Test camera {i + 1}
                source: {cameras[i].Url()}
                resolution: [320, 240]
                location: [-1.5489, 53.8011]
                purpose: {purpose}
                legal_basis: Test only
                department: public-space
                retention: 30d
                site: plaza
                zones:
                  - id: all
                    polygon: [[0, 0], [320, 0], [320, 240], [0, 240]]
                rules:
                  - id: people
                    type: zone-entry
                    zone: all
                    classes: [person]
                    category: public-space

            """);
        }

        return text.ToString();
    }

    public static HttpClient Browser(string url, CookieContainer cookies) =>
        new(new HttpClientHandler { CookieContainer = cookies, UseCookies = true }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Logs in as a person with an authenticator app would, enrolling the second factor the role needs.</summary>
    public static async Task<HttpClient> LoginAsync(string url, string user, string password)
    {
        var client = Browser(url, new CookieContainer());
        var first = await client.PostAsJsonAsync("/api/auth/login", new { userName = user, password });
        if (first.StatusCode == HttpStatusCode.OK) return client;
        var problem = await first.Content.ReadFromJsonAsync<JsonElement>();
        var secret = Base32.Decode(problem.GetProperty("secret").GetString()!);
        var code = Totp.Code(secret, Totp.StepAt(DateTimeOffset.UtcNow));
        var second = await client.PostAsJsonAsync("/api/auth/login", new { userName = user, password, code });
        Assert.True(second.IsSuccessStatusCode, await second.Content.ReadAsStringAsync());
        return client;
    }
}
