using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CivicLens.Server.Cameras;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens bench cluster</c>: the cluster's control plane at district scale. On a throwaway PostgreSQL database it
/// starts one hub and N nodes as processes of this same executable, the nodes with <c>--control-plane-only</c> (every
/// camera is placed through its real grain, checked and recorded, and reports health, but nothing is decoded), registers
/// the cameras through the bulk importer, and measures: time until every camera runs on a node, the hub's and the
/// nodes' memory per camera, the health changes a second the hub absorbs into the registry, and the time to move one
/// SIGKILLed node's cameras onto the survivors. It stops every process and drops the database at the end.
/// </summary>
internal static class ClusterBenchCommand
{
    public static Command Create()
    {
        var cameras = new Option<int>("--cameras") { Description = "Cameras registered and placed", DefaultValueFactory = _ => 290_000 };
        var nodes = new Option<int>("--nodes") { Description = "Node processes (one is killed)", DefaultValueFactory = _ => 4 };
        var postgres = new Option<string?>("--postgres")
        {
            Description = $"An admin connection string (a throwaway database is created and dropped; default {ServeCommand.PostgresVariable})",
        };
        var flips = new Option<int>("--flips") { Description = "Health changes a second the nodes make up together while the intake is measured", DefaultValueFactory = _ => 20_000 };
        var flipSeconds = new Option<int>("--flip-seconds") { Description = "Seconds the health intake is measured", DefaultValueFactory = _ => 20 };
        var timeout = new Option<int>("--timeout-minutes") { Description = "Give up when a phase takes longer than this", DefaultValueFactory = _ => 30 };
        var command = new Command("cluster",
            "Cluster control plane at district scale: hub and node processes (decoding nothing), time to place every camera, memory per camera, health changes absorbed a second, time to move a killed node's cameras")
        {
            cameras, nodes, postgres, flips, flipSeconds, timeout,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var n = parse.GetValue(cameras);
            var count = parse.GetValue(nodes);
            if (n < 1 || count < 2) throw new ArgumentException("--cameras must be positive and --nodes at least 2 (one is killed).");
            var admin = parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable(ServeCommand.PostgresVariable)
                ?? throw new ArgumentException($"Give --postgres (or {ServeCommand.PostgresVariable}): an admin connection string to a PostgreSQL server.");
            var bench = new Bench(admin, n, count, parse.GetValue(flips), TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(flipSeconds))),
                TimeSpan.FromMinutes(Math.Max(1, parse.GetValue(timeout))));
            return await bench.RunAsync(ct);
        }));
        return command;
    }

    private sealed class Bench(string admin, int cameras, int nodeCount, int flips, TimeSpan flipWindow, TimeSpan limit)
    {
        private readonly List<Member> _members = [];
        private readonly List<(string Figure, string Value, string Detail)> _rows = [];
        private NpgsqlDataSource? _store;

        /// <summary>Every node can take a dead node's share: capacity x (nodes - 1) holds every camera.</summary>
        private int Capacity => (int)Math.Ceiling(cameras / (double)(nodeCount - 1));

        private NpgsqlDataSource Store => _store!;

        public async Task<int> RunAsync(CancellationToken ct)
        {
            var name = "bench_cluster_" + Guid.NewGuid().ToString("N")[..12];
            var dir = Directory.CreateTempSubdirectory("civiclens-bench-cluster-");
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"# civiclens bench cluster: {cameras} cameras, 1 hub + {nodeCount} nodes (capacity {Capacity} each, control-plane only: nothing decoded), {Environment.ProcessorCount} cores, database {name}"));
            await ServerBenchCommand.AdminSqlAsync(admin, $"CREATE DATABASE {name}", ct);
            try
            {
                var cs = new NpgsqlConnectionStringBuilder(admin) { Database = name, MaxPoolSize = 4 }.ConnectionString;
                _store = NpgsqlDataSource.Create(cs);
                return await MeasureAsync(cs, dir.FullName, ct);
            }
            finally
            {
                foreach (var m in _members) m.Dispose();
                if (_store is not null) await _store.DisposeAsync();
                NpgsqlConnection.ClearAllPools();
                await ServerBenchCommand.AdminSqlAsync(admin, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None);
                dir.Delete(recursive: true);
            }
        }

        private async Task<int> MeasureAsync(string cs, string dir, CancellationToken ct)
        {
            var storage = new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = cs };
            var options = new ServerOptions { DataDirectory = Path.Combine(dir, "hub"), Storage = storage, RunPipelines = false };
            Directory.CreateDirectory(options.DataDirectory);
            await StorageSetup.MigrateAsync(storage, ct);
            await BenchDistrict.SeedAsync(storage, ct);
            // The bench registers the cameras with the hub's key (the hub opens their stream addresses to assign them).
            using var secrets = SecretBox.LoadOrCreate(options.SecretsKeyPath);
            var env = new Dictionary<string, string>
            {
                [ServeCommand.PostgresVariable] = cs,
                [ServeCommand.AdminPasswordVariable] = "cluster bench harbour " + Convert.ToHexString(Guid.NewGuid().ToByteArray()),
            };

            var hub = Member.Start("hub", env, "serve", "--cluster", "--name", "hub", "--silo-port", Port(), "--data", options.DataDirectory, "--urls", $"http://127.0.0.1:{Port()}");
            _members.Add(hub);
            await UntilAsync(() => Task.FromResult(hub.Said("CivicLens is serving")), TimeSpan.FromMinutes(3), "the hub to serve", ct);
            for (var i = 1; i <= nodeCount; i++)
            {
                _members.Add(Member.Start($"n{i}", env, "node", "--name", $"n{i}", "--silo-port", Port(), "--capacity", Capacity.ToString(CultureInfo.InvariantCulture),
                    "--data", Path.Combine(dir, $"n{i}"), "--control-plane-only"));
            }

            await UntilAsync(async () => await ActiveSilosAsync(ct) == nodeCount + 1, TimeSpan.FromMinutes(3), $"the hub and {nodeCount} nodes to be active members", ct);
            var nodes = _members.Skip(1).ToList();
            // Idle: the processes' memory with the cluster formed and no camera, the baseline of the per-camera figures.
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            var idle = _members.ToDictionary(m => m.Name, m => m.Rss());

            // Registration: the bulk importer, as an operator's CSV import goes (one transaction, every row checked).
            var imported = Stopwatch.StartNew();
            await ImportAsync(options, storage, secrets, ct);
            var importSeconds = imported.Elapsed.TotalSeconds;
            Add("registration: bulk CSV import (one transaction), hub and nodes idle", $"{importSeconds:0.0} s", $"{cameras / importSeconds:0} cameras/s");

            // Placement: from the registry holding every camera until each runs on a node and its health says so.
            var placing = Stopwatch.StartNew();
            var lastSaid = TimeSpan.Zero;
            await UntilAsync(async () =>
            {
                var (placed, running) = await PlacedAsync(ct);
                if (placing.Elapsed - lastSaid > TimeSpan.FromSeconds(15))
                {
                    lastSaid = placing.Elapsed;
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {placing.Elapsed.TotalSeconds:0} s: {placed} placed, {running} placed and running"));
                }

                return running == cameras;
            }, limit, "every camera placed and running", ct);
            var placeSeconds = placing.Elapsed.TotalSeconds;
            Add("place every camera: import committed until all run on a node (registry: node set, health streaming)", $"{placeSeconds:0.0} s", $"{cameras / placeSeconds:0} cameras/s");
            var spread = await PerNodeAsync(ct);
            Add("cameras per node after placement", string.Join(" / ", nodes.Select(m => spread.GetValueOrDefault(m.Name).ToString(CultureInfo.InvariantCulture))), $"capacity {Capacity} each");

            // Memory with every camera placed (settled a few seconds: the last health batches and registry writes).
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
            var full = _members.ToDictionary(m => m.Name, m => m.Rss());
            Add("hub memory (RSS) per camera: full less idle", $"{(full["hub"] - idle["hub"]) / (double)cameras:0} bytes",
                $"{idle["hub"] / 1048576.0:0} MiB idle, {full["hub"] / 1048576.0:0} MiB with {cameras} cameras");
            var nodeIdle = nodes.Sum(m => idle[m.Name]);
            var nodeFull = nodes.Sum(m => full[m.Name]);
            Add("node memory (RSS) per camera: full less idle, all nodes", $"{(nodeFull - nodeIdle) / (double)cameras:0} bytes",
                string.Join(", ", nodes.Select(m => $"{m.Name} {idle[m.Name] / 1048576.0:0} -> {full[m.Name] / 1048576.0:0} MiB")));

            // Health intake: the nodes make up offline/streaming flips at a set rate; the hub stores each as a change.
            await HealthIntakeAsync(nodes, ct);

            // Failover: SIGKILL one node; its cameras run on the survivors.
            var victim = nodes[0];
            var moved = spread.GetValueOrDefault(victim.Name);
            var killed = Stopwatch.StartNew();
            victim.Kill();
            double? noticed = null;
            await UntilAsync(async () =>
            {
                var (left, moving, running) = await AfterKillAsync(victim.Name, ct);
                if (noticed is null && (moving > 0 || left < moved)) noticed = killed.Elapsed.TotalSeconds;
                if (killed.Elapsed - lastSaid > TimeSpan.FromSeconds(10))
                {
                    lastSaid = killed.Elapsed;
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"  {killed.Elapsed.TotalSeconds:0} s after the kill: {left} still on {victim.Name}, {moving} moving, {running} of {cameras} running"));
                }

                return left == 0 && running == cameras;
            }, limit, $"the cameras of {victim.Name} to run on the survivors", ct);
            var moveSeconds = killed.Elapsed.TotalSeconds;
            Add($"SIGKILL a node: until its {moved} cameras all run on the survivors", $"{moveSeconds:0.0} s",
                string.Create(CultureInfo.InvariantCulture, $"first seen moving after {noticed ?? moveSeconds:0.0} s; {moved / moveSeconds:0} cameras/s overall"));
            var after = await PerNodeAsync(ct);
            Add("cameras per node after the move", string.Join(" / ", nodes.Select(m => after.GetValueOrDefault(m.Name).ToString(CultureInfo.InvariantCulture))), $"{victim.Name} killed");

            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync("| figure | value | detail |");
            await Console.Out.WriteLineAsync("|---|---:|---|");
            foreach (var (figure, value, detail) in _rows) await Console.Out.WriteLineAsync($"| {figure} | {value} | {detail} |");
            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"placed: {cameras} of {cameras}; moved: {moved - after.GetValueOrDefault(victim.Name)} of {moved}"));
            await Console.Out.WriteLineAsync("Simulated: the control plane only (registry, placement, grains, health, failure detection, moves) on one machine over loopback; "
                + "no stream is opened or decoded, no event is made, every process shares this machine's cores.");
            return 0;
        }

        private async Task HealthIntakeAsync(List<Member> nodes, CancellationToken ct)
        {
            if (flips <= 0) return;
            var each = flips / (double)nodes.Count;
            foreach (var m in nodes) await m.SayAsync(string.Create(CultureInfo.InvariantCulture, $"flips {each:0.###}"));
            // A few seconds to reach the steady rate, then the window.
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            var before = await ChangesAsync(ct);
            var window = Stopwatch.StartNew();
            await Task.Delay(flipWindow, ct);
            var stored = await ChangesAsync(ct) - before;
            var seconds = window.Elapsed.TotalSeconds;
            foreach (var m in nodes) await m.SayAsync("flips 0");
            var absorbed = stored / seconds;
            // What is left queued drains before the kill (every camera streaming again).
            var stopped = Stopwatch.StartNew();
            await UntilAsync(async () => (await PlacedAsync(ct)).Running == cameras, limit, "every flipped camera streaming again", ct);
            Add($"health changes absorbed (offered {flips}/s by the nodes, {seconds:0} s window)", $"{absorbed:0}/s",
                string.Create(CultureInfo.InvariantCulture, $"{stored} changes stored (row + history each); after the flips stopped the queue drained in {stopped.Elapsed.TotalSeconds:0.0} s"));
        }

        private void Add(string figure, string value, string detail)
        {
            _rows.Add((figure, value, detail));
            Console.Error.WriteLine($"  {figure}: {value} ({detail})");
        }

        private async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string awaited, CancellationToken ct)
        {
            var started = Stopwatch.StartNew();
            while (!await condition())
            {
                if (_members.FirstOrDefault(m => m.Exited && !m.Killed) is { } gone)
                {
                    throw new InvalidOperationException($"{gone.Name} exited while waiting for {awaited}:\n{gone.Tail()}");
                }

                if (started.Elapsed > timeout)
                {
                    throw new TimeoutException($"Waited {timeout.TotalMinutes:0} min for {awaited}.\n" + string.Join("\n", _members.Select(m => $"--- {m.Name}:\n{m.Tail()}")));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            }
        }

        private async Task<int> ActiveSilosAsync(CancellationToken ct)
        {
            try
            {
                // Orleans' own membership table: status 3 is Active.
                await using var cmd = Store.CreateCommand("SELECT count(*) FROM orleansmembershiptable WHERE status = 3");
                return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
            }
            catch (PostgresException)
            {
                return 0;
            }
        }

        private async Task<(int Placed, int Running)> PlacedAsync(CancellationToken ct)
        {
            await using var cmd = Store.CreateCommand(
                "SELECT count(*) FILTER (WHERE node IS NOT NULL), count(*) FILTER (WHERE node IS NOT NULL AND health = 'streaming') FROM cameras WHERE enabled");
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            return ((int)r.GetInt64(0), (int)r.GetInt64(1));
        }

        private async Task<(int Left, int Moving, int Running)> AfterKillAsync(string victim, CancellationToken ct)
        {
            await using var cmd = Store.CreateCommand(
                "SELECT count(*) FILTER (WHERE node = $1), count(*) FILTER (WHERE health = 'moving'), count(*) FILTER (WHERE node IS NOT NULL AND node <> $1 AND health = 'streaming') FROM cameras WHERE enabled");
            cmd.Parameters.AddWithValue(victim);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            return ((int)r.GetInt64(0), (int)r.GetInt64(1), (int)r.GetInt64(2));
        }

        private async Task<Dictionary<string, int>> PerNodeAsync(CancellationToken ct)
        {
            await using var cmd = Store.CreateCommand("SELECT node, count(*) FROM cameras WHERE node IS NOT NULL GROUP BY node");
            await using var r = await cmd.ExecuteReaderAsync(ct);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            while (await r.ReadAsync(ct)) counts[r.GetString(0)] = (int)r.GetInt64(1);
            return counts;
        }

        private async Task<long> ChangesAsync(CancellationToken ct)
        {
            await using var cmd = Store.CreateCommand("SELECT count(*) FROM camera_health_changes");
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }

        private async Task ImportAsync(ServerOptions options, StorageOptions storage, SecretBox secrets, CancellationToken ct)
        {
            var dbs = new PooledDbContextFactory<CivicLensDb>(StorageSetup.Options(storage));
            Rules.Configuration.CivicLensConfig district;
            await using (var db = await dbs.CreateDbContextAsync(ct)) district = await DistrictSync.FromStoreAsync(db, ct);
            using var audit = new AuditLog(storage, TimeProvider.System, options.AuditAnchorPath);
            using var signal = new RegistrySignal();
            var importer = new CameraImporter(dbs, new CameraCatalog(district, dbs, secrets, options), secrets, audit, signal, TimeProvider.System);
            var outcome = await importer.ImportAsync(new MemoryStream(BenchDistrict.Csv(cameras, runnableEvery: 1)), CameraImporter.Format.Csv, dryRun: false, "bench", ct);
            if (outcome.Problems.Count > 0 || outcome.Created != cameras)
            {
                throw new InvalidOperationException($"The bench import was refused: {(outcome.Problems.Count > 0 ? outcome.Problems[0] : "wrong count")}");
            }
        }

        private static string Port()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>A hub or node process of the bench: this same executable, its output kept (the last lines) for a failure's message.</summary>
    private sealed class Member : IDisposable
    {
        private const int TailLines = 60;
        private readonly Process _process;
        private readonly Queue<string> _tail = new();
        private readonly HashSet<string> _said = new(StringComparer.Ordinal);

        private Member(string name, Process process)
        {
            Name = name;
            _process = process;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Name { get; }

        public bool Killed { get; private set; }

        public bool Exited => _process.HasExited;

        public static Member Start(string name, IReadOnlyDictionary<string, string> environment, params string[] args)
        {
            // The same civiclens: its apphost, or dotnet running its assembly.
            var self = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this executable is unknown.");
            var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(ClusterBenchCommand).Assembly.Location);
            foreach (var a in args) psi.ArgumentList.Add(a);
            foreach (var (k, v) in environment) psi.Environment[k] = v;
            return new Member(name, Process.Start(psi) ?? throw new InvalidOperationException($"{name} did not start."));
        }

        /// <summary>True once a line containing <paramref name="text"/> was printed (checked against lines kept since).</summary>
        public bool Said(string text)
        {
            lock (_tail) return _said.Contains(text) || _tail.Any(l => l.Contains(text, StringComparison.Ordinal));
        }

        public async Task SayAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync();
        }

        /// <summary>Resident memory (VmRSS) in bytes.</summary>
        public long Rss()
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }

            return 0;
        }

        /// <summary>SIGKILL: the process dies at once.</summary>
        public void Kill()
        {
            Killed = true;
            _process.Kill();
        }

        public string Tail()
        {
            lock (_tail) return string.Join('\n', _tail);
        }

        private void Append(string? line)
        {
            if (line is null) return;
            lock (_tail)
            {
                if (line.Contains("CivicLens is serving", StringComparison.Ordinal)) _said.Add("CivicLens is serving");
                _tail.Enqueue(line);
                while (_tail.Count > TailLines) _tail.Dequeue();
            }
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    Killed = true;
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }
}
