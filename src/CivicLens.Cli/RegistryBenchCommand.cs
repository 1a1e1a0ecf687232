using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using CivicLens.Domain.Cameras;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cameras;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens bench registry</c>: a district-sized camera registry (290,000 by default) on a throwaway SQLite file
/// and, with <c>--postgres</c>, a throwaway PostgreSQL database: the bulk CSV import's time, the console's camera
/// list and health counts over loopback (p50, p99, as a signed-in viewer), and the managed memory the running server
/// holds per registered camera (its heap with the registry full, less its heap with the same district and no camera).
/// </summary>
internal static class RegistryBenchCommand
{
    public static Command Create()
    {
        var cameras = new Option<int>("--cameras") { Description = "Cameras in the registry", DefaultValueFactory = _ => 290_000 };
        var requests = new Option<int>("--requests") { Description = "Requests per endpoint (after a warm-up of a tenth as many)", DefaultValueFactory = _ => 2000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight", DefaultValueFactory = _ => 8 };
        var postgres = new Option<string?>("--postgres") { Description = "Also on PostgreSQL: an admin connection string (a throwaway database is created and dropped)" };
        var command = new Command("registry", "Camera registry at district scale: bulk import time, camera list and health counts p50/p99, memory per camera")
        {
            cameras, requests, concurrency, postgres,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var n = parse.GetValue(cameras);
            if (n < 1 || parse.GetValue(requests) < 1 || parse.GetValue(concurrency) < 1) throw new ArgumentException("--cameras, --requests and --concurrency must be positive.");
            var csv = BenchDistrict.Csv(n, runnableEvery: 4);
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"# civiclens bench registry: {n} cameras in {BenchDistrict.Areas.Length} areas, CSV {csv.Length / 1048576.0:0.0} MiB, {parse.GetValue(requests)} requests per endpoint, {parse.GetValue(concurrency)} in flight, {Environment.ProcessorCount} cores"));
            var rows = new List<string>();
            var facts = new List<string>();
            var dir = Directory.CreateTempSubdirectory("civiclens-bench-");
            try
            {
                var (load, fact) = await RunAsync("SQLite", StorageOptions.SqliteFile(Path.Combine(dir.FullName, "civiclens.db")), Path.Combine(dir.FullName, "sqlite"), csv, n,
                    parse.GetValue(requests), parse.GetValue(concurrency), ct);
                rows.AddRange(load);
                facts.AddRange(fact);
                SqliteConnection.ClearAllPools();
                if (parse.GetValue(postgres) is { } admin)
                {
                    var name = "civiclens_bench_" + Guid.NewGuid().ToString("N")[..12];
                    await ServerBenchCommand.AdminSqlAsync(admin, $"CREATE DATABASE {name}", ct);
                    try
                    {
                        var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
                        var (pgLoad, pgFact) = await RunAsync("PostgreSQL", new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = cs },
                            Path.Combine(dir.FullName, "pg"), csv, n, parse.GetValue(requests), parse.GetValue(concurrency), ct);
                        rows.AddRange(pgLoad);
                        facts.AddRange(pgFact);
                    }
                    finally
                    {
                        NpgsqlConnection.ClearAllPools();
                        await ServerBenchCommand.AdminSqlAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
                    }
                }
            }
            finally
            {
                dir.Delete(recursive: true);
            }

            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync("| figure | value | detail |");
            await Console.Out.WriteLineAsync("|---|---:|---|");
            foreach (var row in facts) await Console.Out.WriteLineAsync(row);
            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync("| request over loopback | p50 ms | p99 ms | requests/s |");
            await Console.Out.WriteLineAsync("|---|---:|---:|---:|");
            foreach (var row in rows) await Console.Out.WriteLineAsync(row);
            return 0;
        }));
        return command;
    }

    private static async Task<(List<string> Load, List<string> Facts)> RunAsync(string name, StorageOptions storage, string dataDir, byte[] csv, int n, int requests, int concurrency, CancellationToken ct)
    {
        Directory.CreateDirectory(dataDir);
        await StorageSetup.MigrateAsync(storage, ct);
        await BenchDistrict.SeedAsync(storage, ct);
        var rows = new List<string>();
        var facts = new List<string>();
        var options = new ServerOptions
        {
            DataDirectory = dataDir,
            Storage = storage,
            Urls = ["http://127.0.0.1:0"],
            RunPipelines = false,
            AdminPassword = "registry bench harbour " + Convert.ToHexString(Guid.NewGuid().ToByteArray()),
            RequestsPerMinute = 100_000_000,
            LoginAttemptsPerMinute = 1000,
        };

        // The server's heap with the district and no camera: the baseline the per-camera figure is measured against.
        var empty = await HeapOfRunningServerAsync(options, null, ct);

        var dbs = new PooledDbContextFactory<CivicLensDb>(StorageSetup.Options(storage));
        CivicLens.Rules.Configuration.CivicLensConfig district;
        await using (var db = await dbs.CreateDbContextAsync(ct)) district = await DistrictSync.FromStoreAsync(db, ct);
        using var secrets = SecretBox.LoadOrCreate(options.SecretsKeyPath);
        using var audit = new AuditLog(storage, TimeProvider.System, options.AuditAnchorPath);
        using var signal = new RegistrySignal();
        var importer = new CameraImporter(dbs, new CameraCatalog(district, dbs, secrets, options), secrets, audit, signal, TimeProvider.System);
        var started = Stopwatch.GetTimestamp();
        var outcome = await importer.ImportAsync(new MemoryStream(csv), CameraImporter.Format.Csv, dryRun: false, "bench", ct);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (outcome.Problems.Count > 0 || outcome.Created != n) throw new InvalidOperationException($"The bench import was refused: {(outcome.Problems.Count > 0 ? outcome.Problems[0] : "wrong count")}");
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {name}: imported {n} cameras in {seconds:0.0} s"));
        facts.Add(string.Create(CultureInfo.InvariantCulture, $"| {name}: import of a {n}-row CSV (one transaction) | {seconds:0.0} s | {n / seconds:0} rows/s |"));

        // A district seen a while: most streaming, some offline, a few failed or in tamper.
        await MixStatesAsync(dbs, ct);

        var full = await HeapOfRunningServerAsync(options, async app =>
        {
            var http = await ViewerAsync(app, concurrency, ct);
            var list = await ServerBenchCommand.LoadAsync(http, _ => "/api/cameras?limit=100", requests, concurrency, ct);
            rows.Add(ServerBenchCommand.LoadRow($"{name}: GET /api/cameras?limit=100 (the console's first page)", list));
            var deep = await ServerBenchCommand.LoadAsync(http, i => $"/api/cameras?limit=100&after=cam-{(i * 7919) % n:D6}", requests, concurrency, ct);
            rows.Add(ServerBenchCommand.LoadRow($"{name}: GET /api/cameras?limit=100&after=... (any page)", deep));
            var offline = await ServerBenchCommand.LoadAsync(http, i => $"/api/cameras?health=offline&area={BenchDistrict.Areas[i % BenchDistrict.Areas.Length]}&limit=100", requests, concurrency, ct);
            rows.Add(ServerBenchCommand.LoadRow($"{name}: GET /api/cameras?health=offline&area=... (offline in one ward)", offline));
            var counts = await ServerBenchCommand.LoadAsync(http, i => i % 2 == 0 ? "/api/camera-health/counts" : $"/api/camera-health/counts?area={BenchDistrict.Areas[i % BenchDistrict.Areas.Length]}", requests, concurrency, ct);
            rows.Add(ServerBenchCommand.LoadRow($"{name}: GET /api/camera-health/counts (district, or one ward)", counts));
            var byArea = await ServerBenchCommand.LoadAsync(http, _ => "/api/camera-health/counts?by=area", Math.Max(concurrency, requests / 4), concurrency, ct);
            rows.Add(ServerBenchCommand.LoadRow($"{name}: GET /api/camera-health/counts?by=area", byArea));
        }, ct);
        facts.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {name}: managed heap of the running server per registered camera (full less empty registry) | {(full - empty) / (double)n:0.0} bytes | {empty / 1048576.0:0.0} MiB empty, {full / 1048576.0:0.0} MiB full |"));
        return (rows, facts);
    }

    /// <summary>Starts the server on the store, runs <paramref name="load"/>, then measures its heap after a full collection.</summary>
    private static async Task<long> HeapOfRunningServerAsync(ServerOptions options, Func<WebApplication, Task>? load, CancellationToken ct)
    {
        var app = await ServerHost.BuildAsync(options, b => Logging.Configure(b.Logging, LogLevel.Warning), ct);
        await using (app)
        {
            await app.StartAsync(ct);
            if (load is not null) await load(app);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            await app.StopAsync(ct);
            return heap;
        }
    }

    private static async Task<HttpClient> ViewerAsync(WebApplication app, int concurrency, CancellationToken ct)
    {
        var viewer = "bench-viewer";
        var password = "registry bench plaza " + Convert.ToHexString(Guid.NewGuid().ToByteArray());
        await app.Services.GetRequiredService<AccountService>().CreateAsync(viewer, password, Roles.Viewer, null, ct);
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, CookieContainer = new CookieContainer(), UseCookies = true })
        {
            BaseAddress = new Uri(app.Urls.First()),
        };
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName = viewer, password }, ct);
        if (!login.IsSuccessStatusCode) throw new InvalidOperationException($"The bench viewer could not log in: {(int)login.StatusCode}.");
        return http;
    }

    private static async Task MixStatesAsync(PooledDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        // By id digits, so every ward gets its share: 90 % streaming, 6 % offline, 2 % tamper, 2 % failed of the enabled ones.
        (string State, string Pattern)[] mix = [("offline", "%0_"), ("tamper", "%11"), ("failed", "%21")];
        await db.Cameras.Where(c => c.Enabled).ExecuteUpdateAsync(u => u.SetProperty(c => c.Health, CameraState.Streaming.Name()), ct);
        foreach (var (state, pattern) in mix)
        {
            await db.Cameras.Where(c => c.Enabled && EF.Functions.Like(c.Id, pattern)).ExecuteUpdateAsync(u => u.SetProperty(c => c.Health, state), ct);
        }

        // What the server's folding does every few seconds (PostgreSQL), timed: 290,000 changes at once is a district-wide outage.
        var started = Stopwatch.GetTimestamp();
        await CameraStateTotals.FoldAsync(db, ct);
        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  folded the state changes in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s"));
    }
}
