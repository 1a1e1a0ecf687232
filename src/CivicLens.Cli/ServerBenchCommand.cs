using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens bench ingest</c> and <c>civiclens bench api</c>: the server's store and API on a throwaway database.
/// Ingest is <see cref="EventStore.IngestAsync"/> alone (events/s, median of several runs, each on a fresh
/// database); api seeds a store, starts the real server in this process and drives loopback HTTP load as a
/// signed-in viewer, so every request pays what a real one does (session check, query, audit record).
/// </summary>
internal static class ServerBenchCommand
{
    private const string Camera = "vtest";
    private const string Area = "campus";
    private static readonly string[] Kinds = ["zone.enter", "zone.exit", "line.cross", "crowding", "stationary", "scene.change"];

    public static Command Ingest()
    {
        var postgres = new Option<string?>("--postgres")
        {
            Description = "Also measure PostgreSQL: an Npgsql connection string whose role may create databases (each run gets a throwaway one)",
        };
        var events = new Option<int>("--events") { Description = "Events per run", DefaultValueFactory = _ => 200_000 };
        var batch = new Option<int>("--batch") { Description = "Events per IngestAsync call (one transaction)", DefaultValueFactory = _ => 1000 };
        var repeats = new Option<int>("--repeats") { Description = "Runs per figure; the median is reported", DefaultValueFactory = _ => 5 };
        var command = new Command("ingest", "EventStore ingest throughput (events/s) on a temp SQLite file, and on PostgreSQL when given")
        {
            postgres, events, batch, repeats,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var n = parse.GetValue(events);
            var size = parse.GetValue(batch);
            var runs = parse.GetValue(repeats);
            if (n < 1 || size < 1 || runs < 1) throw new ArgumentException("--events, --batch and --repeats must be positive.");
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"# civiclens bench ingest: {n} events per run in batches of {size}, {runs} runs per figure (median), {Environment.ProcessorCount} cores"));
            var rows = new List<string>();
            var sqlite = await MedianAsync(runs, "SQLite", () => SqliteIngestRunAsync(n, size, ct));
            rows.Add(Row("SQLite (WAL, synchronous=FULL), temp file", sqlite, "events/s"));
            if (parse.GetValue(postgres) is { } cs)
            {
                var pg = await MedianAsync(runs, "PostgreSQL", () => PostgresIngestRunAsync(cs, n, size, ct));
                rows.Add(Row("PostgreSQL, fresh database", pg, "events/s"));
            }

            await PrintTableAsync(rows);
            return 0;
        }));
        return command;
    }

    public static Command Api()
    {
        var events = new Option<int>("--events") { Description = "Events stored before the load starts", DefaultValueFactory = _ => 1_000_000 };
        var requests = new Option<int>("--requests") { Description = "Requests per endpoint (after a warm-up of a tenth as many)", DefaultValueFactory = _ => 5000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight (and connections)", DefaultValueFactory = _ => 8 };
        var command = new Command("api", "API latency and throughput (p50, p99, requests/s) over loopback with a seeded store")
        {
            events, requests, concurrency,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var n = parse.GetValue(events);
            var count = parse.GetValue(requests);
            var c = parse.GetValue(concurrency);
            if (n < 1 || count < 1 || c < 1) throw new ArgumentException("--events, --requests and --concurrency must be positive.");
            await ApiAsync(n, count, c, ct);
            return 0;
        }));
        return command;
    }

    // ---- ingest ----------------------------------------------------------------------------------------------

    private static async Task<double> SqliteIngestRunAsync(int n, int size, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("civiclens-bench-");
        try
        {
            return await IngestRunAsync(StorageOptions.SqliteFile(Path.Combine(dir.FullName, "civiclens.db")), n, size, ct);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    private static async Task<double> PostgresIngestRunAsync(string admin, int n, int size, CancellationToken ct)
    {
        var name = "civiclens_bench_" + Guid.NewGuid().ToString("N")[..12];
        await AdminSqlAsync(admin, $"CREATE DATABASE {name}", ct);
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
            return await IngestRunAsync(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = cs }, n, size, ct);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await AdminSqlAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
        }
    }

    internal static async Task AdminSqlAsync(string admin, string sql, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(admin);
        await conn.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>One run: a migrated, empty store; the events are made up front, so only the ingest is timed.</summary>
    private static async Task<double> IngestRunAsync(StorageOptions storage, int n, int size, CancellationToken ct)
    {
        await StorageSetup.MigrateAsync(storage, ct);
        var events = MakeEvents(n, TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(), 10, n);
        using var store = new EventStore(storage, TimeProvider.System);
        var started = Stopwatch.GetTimestamp();
        foreach (var chunk in events.Chunk(size)) await store.IngestAsync(chunk, ct);
        return n / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>
    /// Events as the sample camera's rules make them, with random ids, in arrival order: times rise from
    /// <paramref name="firstAt"/> by about <paramref name="stepMs"/> each, as a live node posts them (time-keyed
    /// indexes grow at their end; the id index takes random keys).
    /// </summary>
    private static EventRecord[] MakeEvents(int n, long firstAt, double stepMs, int seed)
    {
        var random = new Random(seed);
        var events = new EventRecord[n];
        for (var i = 0; i < n; i++)
        {
            var kind = Kinds[random.Next(Kinds.Length)];
            events[i] = new EventRecord
            {
                Id = Guid.NewGuid(),
                Kind = kind,
                Phase = "instant",
                CameraId = Camera,
                Rule = kind + "-rule",
                Category = "public-space",
                Zone = "plaza",
                SiteId = "plaza",
                AreaId = Area,
                At = firstAt + (long)(i * stepMs) + random.Next(1000),
                Label = "person",
                Count = random.Next(1, 12),
                Confidence = 0.5f + random.NextSingle() / 2,
                Box = string.Create(CultureInfo.InvariantCulture, $"{random.Next(700)},{random.Next(500)},{random.Next(20, 80)},{random.Next(40, 160)}"),
                Detail = "person 3, bicycle 1",
            };
        }

        return events;
    }

    // ---- api -------------------------------------------------------------------------------------------------

    private static async Task ApiAsync(int n, int requests, int concurrency, CancellationToken ct)
    {
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"# civiclens bench api: {n} events stored, {requests} requests per endpoint, {concurrency} in flight, {Environment.ProcessorCount} cores, loopback HTTP/1.1"));
        var dir = Directory.CreateTempSubdirectory("civiclens-bench-");
        try
        {
            var options = new ServerOptions
            {
                DataDirectory = dir.FullName,
                Urls = ["http://127.0.0.1:0"],
                RunPipelines = false,
                AdminPassword = "load test harbour " + Convert.ToHexString(Guid.NewGuid().ToByteArray()),
                // The load comes from one user and one address; the limiter is not what is measured.
                RequestsPerMinute = 100_000_000,
                LoginAttemptsPerMinute = 1000,
            };
            var storage = options.EffectiveStorage;
            await StorageSetup.MigrateAsync(storage, ct);

            var seeded = Stopwatch.GetTimestamp();
            var sample = new List<Guid>(4096);
            using (var store = new EventStore(storage, TimeProvider.System))
            {
                // The last 30 days' events, oldest first, as they arrived.
                const int Chunk = 100_000;
                var step = TimeSpan.FromDays(30).TotalMilliseconds / n;
                var first = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() - (long)TimeSpan.FromDays(30).TotalMilliseconds;
                for (var done = 0; done < n; done += Chunk)
                {
                    var events = MakeEvents(Math.Min(Chunk, n - done), first + (long)(done * step), step, done);
                    foreach (var batch in events.Chunk(1000)) await store.IngestAsync(batch, ct);
                    sample.AddRange(events.Take(4096 * Chunk / Math.Max(n, Chunk)).Select(e => e.Id));
                }
            }

            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  seeded {n} events in {Stopwatch.GetElapsedTime(seeded).TotalSeconds:0.0} s"));
            await PrintListPlanAsync(storage, ct);

            var app = await ServerHost.BuildAsync(options, b => Logging.Configure(b.Logging, LogLevel.Warning), ct);
            await using (app)
            {
                await app.StartAsync(ct);
                var viewer = "bench-viewer";
                var password = "load test plaza " + Convert.ToHexString(Guid.NewGuid().ToByteArray());
                await app.Services.GetRequiredService<AccountService>().CreateAsync(viewer, password, Roles.Viewer, null, ct);
                using var handler = new SocketsHttpHandler
                {
                    MaxConnectionsPerServer = concurrency,
                    CookieContainer = new CookieContainer(),
                    UseCookies = true,
                    AllowAutoRedirect = false,
                };
                using var http = new HttpClient(handler) { BaseAddress = new Uri(app.Urls.First()) };
                using (var login = await http.PostAsJsonAsync("/api/auth/login", new { userName = viewer, password }, ct))
                {
                    if (!login.IsSuccessStatusCode) throw new InvalidOperationException($"The bench viewer could not log in: {(int)login.StatusCode}.");
                }

                var rows = new List<string>();
                var list = await LoadAsync(http, _ => "/api/events?limit=100", requests, concurrency, ct);
                rows.Add(LoadRow("GET /api/events?limit=100", list));
                var get = await LoadAsync(http, i => "/api/events/" + sample[i % sample.Count].ToString("D"), requests, concurrency, ct);
                rows.Add(LoadRow("GET /api/events/{id}", get));
                var query = await QueryOnlyAsync(app, Math.Min(requests, 1000), ct);
                rows.Add(LoadRow("the list's query alone (EF Core, no HTTP, no audit), 1 in flight", query));
                var audit = await AuditOnlyAsync(app, Math.Min(requests, 1000), ct);
                rows.Add(LoadRow("one audit record alone (what each request appends), 1 in flight", audit));

                await Console.Out.WriteLineAsync();
                await Console.Out.WriteLineAsync("| figure | p50 ms | p99 ms | requests/s |");
                await Console.Out.WriteLineAsync("|---|---:|---:|---:|");
                foreach (var row in rows) await Console.Out.WriteLineAsync(row);
                await app.StopAsync(ct);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    internal sealed record LoadResult(double P50, double P99, double PerSecond);

    /// <summary>A warm-up of a tenth as many requests, then <paramref name="requests"/> timed ones, <paramref name="concurrency"/> in flight.</summary>
    internal static async Task<LoadResult> LoadAsync(HttpClient http, Func<int, string> path, int requests, int concurrency, CancellationToken ct)
    {
        await RunLoadAsync(http, path, Math.Max(concurrency, requests / 10), concurrency, new double[Math.Max(concurrency, requests / 10)], ct);
        var latencies = new double[requests];
        var started = Stopwatch.GetTimestamp();
        await RunLoadAsync(http, path, requests, concurrency, latencies, ct);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);
        return new LoadResult(Percentile(latencies, 0.50), Percentile(latencies, 0.99), requests / seconds);
    }

    private static async Task RunLoadAsync(HttpClient http, Func<int, string> path, int requests, int concurrency, double[] latencies, CancellationToken ct)
    {
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var t0 = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path(i), HttpCompletionOption.ResponseContentRead, ct);
                if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"GET {path(i)} answered {(int)response.StatusCode}.");
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
        }, ct));
        await Task.WhenAll(workers);
    }

    /// <summary>The list endpoint's query (newest 100 of all events, as an unscoped viewer) straight through EF Core.</summary>
    private static async Task<LoadResult> QueryOnlyAsync(WebApplication app, int runs, CancellationToken ct)
    {
        var dbs = app.Services.GetRequiredService<IDbContextFactory<CivicLensDb>>();
        var latencies = new double[runs];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await using var db = await dbs.CreateDbContextAsync(ct);
            var rows = await ListQuery(db).ToListAsync(ct);
            if (rows.Count == 0) throw new InvalidOperationException("The seeded store returned no events.");
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);
        return new LoadResult(Percentile(latencies, 0.50), Percentile(latencies, 0.99), runs / seconds);
    }

    /// <summary>Appending to the hash-chained audit log, as every API request does before it answers.</summary>
    private static async Task<LoadResult> AuditOnlyAsync(WebApplication app, int runs, CancellationToken ct)
    {
        var log = app.Services.GetRequiredService<AuditLog>();
        var latencies = new double[runs];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await log.AppendAsync(new AuditEntry("bench-viewer", "events.list", "ok", null, "100 events"), ct);
            latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);
        return new LoadResult(Percentile(latencies, 0.50), Percentile(latencies, 0.99), runs / seconds);
    }

    private static IQueryable<EventRecord> ListQuery(CivicLensDb db) =>
        db.Events.AsNoTracking().OrderByDescending(e => e.At).ThenByDescending(e => e.Id).Skip(0).Take(101);

    /// <summary>SQLite's plan for the list query as EF Core writes it: it must walk an index, never sort the table.</summary>
    private static async Task PrintListPlanAsync(StorageOptions storage, CancellationToken ct)
    {
        await using var db = new CivicLensDb(StorageSetup.Options(storage));
        var sql = ListQuery(db).ToQueryString();
        var conn = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        await using var cmd = conn.CreateCommand();
        var body = new List<string>();
        foreach (var line in sql.Split('\n'))
        {
            // SQLite's ToQueryString declares parameters as ".param set @name value" lines.
            if (line.StartsWith(".param set ", StringComparison.Ordinal))
            {
                var parts = line.Trim().Split(' ', 4);
                var p = cmd.CreateParameter();
                p.ParameterName = parts[2];
                p.Value = long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : parts[3];
                cmd.Parameters.Add(p);
            }
            else
            {
                body.Add(line);
            }
        }

        cmd.CommandText = "EXPLAIN QUERY PLAN " + string.Join('\n', body).Trim();
        await Console.Out.WriteLineAsync("list query plan (EXPLAIN QUERY PLAN):");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) await Console.Out.WriteLineAsync("  " + reader.GetString(3));
    }

    // ---- shared ----------------------------------------------------------------------------------------------

    private static async Task<double> MedianAsync(int runs, string what, Func<Task<double>> run)
    {
        var results = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var r = await run();
            results.Add(r);
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {what} run {i + 1}: {r:0} events/s"));
        }

        results.Sort();
        return results.Count % 2 == 1 ? results[results.Count / 2] : (results[results.Count / 2 - 1] + results[results.Count / 2]) / 2;
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Row(string name, double median, string unit) =>
        string.Create(CultureInfo.InvariantCulture, $"| {name} | {median:0} | {unit} |");

    internal static string LoadRow(string name, LoadResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"| {name} | {r.P50:0.0} | {r.P99:0.0} | {r.PerSecond:0} |");

    private static async Task PrintTableAsync(List<string> rows)
    {
        await Console.Out.WriteLineAsync();
        await Console.Out.WriteLineAsync("| figure | median | unit |");
        await Console.Out.WriteLineAsync("|---|---:|---|");
        foreach (var row in rows) await Console.Out.WriteLineAsync(row);
    }
}
