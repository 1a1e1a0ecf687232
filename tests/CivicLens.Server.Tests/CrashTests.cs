using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit.Abstractions;

namespace CivicLens.Server.Tests;

/// <summary>
/// The real <c>civiclens serve</c> as a child process, killed with SIGKILL at random moments while an analysis
/// node's loader posts event batches as fast as it can over several connections, then restarted, many times.
/// The loader behaves like a real node: a batch whose answer it did not get is sent again (at least once), and
/// some acknowledged batches are sent a second time on purpose. Afterwards every acknowledged event is stored
/// exactly once, nothing else is stored, the outbox holds one row per event and channel, the database passes its
/// integrity check and <c>civiclens audit verify</c> exits 0.
/// </summary>
/// <remarks>
/// Bounded in time: SQLite runs until 100 kills or 150 s, PostgreSQL until 20 kills or 90 s, whichever comes
/// first. A restart costs about 3 s on 2 cores (runtime, EF Core model, migration check, district import), so
/// the time bound is what ends a default run: about 35–45 kills on SQLite and 20 on PostgreSQL here. For the
/// "hundreds of times" soak run, set <c>CIVICLENS_CRASH_KILLS</c> (e.g. 300) and <c>CIVICLENS_CRASH_SECONDS</c>
/// (e.g. 1500). Every fifth kill lands while the server is still starting (migrations, district import, audit).
/// </remarks>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int BatchSize = 50;
    private const int Connections = 4;

    [Fact]
    public async Task Ingest_ServerKilledAtRandomMoments_EveryAcknowledgedEventStoredExactlyOnce_Sqlite()
    {
        using var data = new TempDirectory();
        var env = new Dictionary<string, string>();
        var key = await CreateKeyAsync(data.Path, env);
        var summary = await CrashLoopAsync(data.Path, env, key, CrashBudget.FromEnvironment(100, TimeSpan.FromSeconds(150)));

        await using var db = new SqliteConnection($"Data Source={Path.Combine(data.Path, "civiclens.db")};Pooling=False");
        await db.OpenAsync();
        Assert.Equal("ok", await ScalarAsync<string>(db, "PRAGMA integrity_check"));
        await VerifyStoredAsync(db, summary);
        await VerifyAuditAsync(data.Path, env);
    }

    [Fact]
    public async Task Ingest_ServerKilledAtRandomMoments_EveryAcknowledgedEventStoredExactlyOnce_PostgreSql()
    {
        using var data = new TempDirectory();
        await using var database = await TestDatabase.CreateAsync(nameof(StorageProvider.PostgreSql), migrate: false);
        // The connection string travels in the environment, as the docs advise (it stays out of ps).
        Dictionary<string, string> env = new() { ["CIVICLENS_POSTGRES"] = database.Options.ConnectionString };
        var key = await CreateKeyAsync(data.Path, env);
        var summary = await CrashLoopAsync(data.Path, env, key, CrashBudget.FromEnvironment(20, TimeSpan.FromSeconds(100)));

        await using (var db = new NpgsqlConnection(database.Options.ConnectionString))
        {
            await db.OpenAsync();
            await VerifyStoredAsync(db, summary);
        }

        await VerifyAuditAsync(data.Path, env);
    }

    private static async Task<string> CreateKeyAsync(string data, IReadOnlyDictionary<string, string> env)
    {
        var created = await ServeProcess.RunCliAsync(env, "keys", "api", "create", "crash-node", "--data", data);
        Assert.True(created.ExitCode == 0, $"keys api create: {created.StdErr}");
        var key = created.StdOut.Trim();
        Assert.StartsWith("clk_", key, StringComparison.Ordinal);
        return key;
    }

    private async Task<LoadSummary> CrashLoopAsync(string data, IReadOnlyDictionary<string, string> env, string key, CrashBudget budget)
    {
        var port = FreePort();
        var random = new Random();
        var clock = Stopwatch.StartNew();
        var starts = new List<double>();
        var server = await ServeProcess.StartAsync(data, port, env);
        starts.Add(server.StartSeconds);
        using var loader = new Loader(new Uri($"http://127.0.0.1:{port}"), key);
        loader.Start();
        var kills = 0;
        var duringStart = 0;
        try
        {
            while (kills < budget.Kills && clock.Elapsed < budget.Time)
            {
                loader.ThrowIfBroken();
                if (kills % 5 == 4)
                {
                    // A restart killed while it starts: migration check, district import and its audit record.
                    await server.KillAsync();
                    var starting = ServeProcess.Spawn(data, port, env);
                    await Task.Delay(random.Next(100, 2500));
                    var ready = starting.IsReady;
                    await starting.KillAsync();
                    if (!ready) duringStart++;
                    kills++;
                    server = await ServeProcess.StartAsync(data, port, env);
                    starts.Add(server.StartSeconds);
                    continue;
                }

                // Killed while batches are being committed: once this run of the server has answered, 50-400 ms later.
                await loader.WaitForAnswerAsync(TimeSpan.FromSeconds(60));
                await Task.Delay(random.Next(50, 401));
                await server.KillAsync();
                kills++;
                server = await ServeProcess.StartAsync(data, port, env);
                starts.Add(server.StartSeconds);
            }

            // The server is up again: every batch still unanswered is sent until it is acknowledged.
            await loader.DrainAsync(TimeSpan.FromSeconds(90));
            await server.StopAsync();
        }
        finally
        {
            await server.KillAsync();
        }

        var s = loader.Summary;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{kills} kills ({duringStart} while starting) in {clock.Elapsed.TotalSeconds:0} s; restarts took {starts.Average():0.0} s on average (max {starts.Max():0.0} s)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{s.Acknowledged.Count} events acknowledged in {s.Batches} batches; {s.Lost} posts lost their answer and {s.Refused} were refused (server down), all sent again; {s.Busy} got 503/429; " +
            $"{s.AnsweredAfterLoss} resent batches had been committed already; {s.Duplicates} acknowledged batches sent twice on purpose"));
        Assert.True(s.Lost > 0, "no post ever lost its answer: no kill hit a request in flight");
        return s;
    }

    private static async Task VerifyStoredAsync(System.Data.Common.DbConnection db, LoadSummary summary)
    {
        var count = await ScalarAsync<long>(db, "SELECT COUNT(*) FROM events");
        Assert.Equal(count, await ScalarAsync<long>(db, "SELECT COUNT(DISTINCT id) FROM events"));
        var stored = new HashSet<Guid>();
        await using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT id FROM events";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) stored.Add(reader.GetValue(0) is Guid g ? g : Guid.Parse(reader.GetString(0)));
        }

        var missing = summary.Acknowledged.Where(id => !stored.Contains(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged events are not stored, e.g. {string.Join(", ", missing.Take(3))}");
        // Every batch was acknowledged in the end, so nothing else may be there either.
        Assert.Equal(summary.Acknowledged.Count, count);

        // One outbox row per stored event and delivery channel (the CLI configures none: then there are no rows).
        var channels = 0L;
        await using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT channel, COUNT(*), COUNT(DISTINCT event_id) FROM outbox GROUP BY channel";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                channels++;
                Assert.True(reader.GetInt64(1) == count && reader.GetInt64(2) == count,
                    $"channel {reader.GetString(0)}: {reader.GetInt64(1)} outbox rows for {reader.GetInt64(2)} events, {count} stored");
            }
        }

        Assert.Equal(0, await ScalarAsync<long>(db, "SELECT COUNT(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = o.event_id)"));
        Assert.Equal(channels * count, await ScalarAsync<long>(db, "SELECT COUNT(*) FROM outbox"));
    }

    private async Task VerifyAuditAsync(string data, IReadOnlyDictionary<string, string> env)
    {
        var verify = await ServeProcess.RunCliAsync(env, "audit", "verify", "--data", data);
        output.WriteLine(verify.StdOut.Trim());
        Assert.True(verify.ExitCode == 0, $"audit verify exited {verify.ExitCode}: {verify.StdOut} {verify.StdErr}");
    }

    private static async Task<T> ScalarAsync<T>(System.Data.Common.DbConnection db, string sql)
    {
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        var value = await cmd.ExecuteScalarAsync();
        return (T)Convert.ChangeType(value!, typeof(T), CultureInfo.InvariantCulture);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private sealed record CrashBudget(int Kills, TimeSpan Time)
    {
        public static CrashBudget FromEnvironment(int kills, TimeSpan time)
        {
            if (int.TryParse(Environment.GetEnvironmentVariable("CIVICLENS_CRASH_KILLS"), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0) kills = k;
            if (int.TryParse(Environment.GetEnvironmentVariable("CIVICLENS_CRASH_SECONDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0)
            {
                time = TimeSpan.FromSeconds(s);
            }

            return new CrashBudget(kills, time);
        }
    }

    internal sealed record LoadSummary(IReadOnlyCollection<Guid> Acknowledged, int Batches, int Lost, int Refused, int Busy, int AnsweredAfterLoss, int Duplicates);

    /// <summary>
    /// An analysis node: <see cref="Connections"/> workers post batches of <see cref="BatchSize"/> new events; an
    /// unanswered batch is sent again until it is acknowledged; every eighth acknowledged batch is sent once more,
    /// and must then be answered with <c>new: 0</c>.
    /// </summary>
    private sealed class Loader(Uri server, string key) : IDisposable
    {
        private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = Connections, ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromSeconds(20),
        };

        private readonly ConcurrentQueue<Guid> _acknowledged = new();
        private readonly ConcurrentQueue<string> _broken = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _workers = [];
        private volatile bool _draining;
        private int _batches;
        private int _lost;
        private int _refused;
        private int _answers;
        private int _busy;
        private int _answeredAfterLoss;
        private int _duplicates;

        public LoadSummary Summary => new(_acknowledged.ToArray(), _batches, _lost, _refused, _busy, _answeredAfterLoss, _duplicates);

        public void Start()
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
            for (var i = 0; i < Connections; i++) _workers.Add(Task.Run(WorkAsync));
        }

        public void ThrowIfBroken()
        {
            if (!_broken.IsEmpty) throw new InvalidOperationException("the server answered wrongly: " + string.Join("; ", _broken.Take(5)));
        }

        /// <summary>Waits until the server answers a post (any answer) from now on.</summary>
        public Task WaitForAnswerAsync(TimeSpan timeout)
        {
            var before = Volatile.Read(ref _answers);
            return Eventually.TrueAsync(() => Volatile.Read(ref _answers) > before || !_broken.IsEmpty, timeout, "an answer from the restarted server to an ingest post");
        }

        /// <summary>Lets each worker finish the batch it holds (acknowledged), then stops it.</summary>
        public async Task DrainAsync(TimeSpan deadline)
        {
            _draining = true;
            var all = Task.WhenAll(_workers);
            if (await Task.WhenAny(all, Task.Delay(deadline)) != all)
            {
                await _stop.CancelAsync();
                throw new TimeoutException($"Timed out after {deadline.TotalSeconds:0} s waiting for the loader's unanswered batches to be acknowledged by the restarted server.");
            }

            await all;
            ThrowIfBroken();
        }

        private async Task WorkAsync()
        {
            var at = TimeProvider.System.GetUtcNow();
            while (!_draining && !_stop.IsCancellationRequested)
            {
                var ids = Enumerable.Range(0, BatchSize).Select(_ => Guid.NewGuid()).ToArray();
                var body = Body(ids, at);
                var lost = false;
                while (!_stop.IsCancellationRequested)
                {
                    var (answer, refused) = await PostAsync(body);
                    if (answer is null)
                    {
                        // No answer (killed mid-request, or not up yet): a node keeps the batch and sends it again.
                        if (refused)
                        {
                            Interlocked.Increment(ref _refused);
                            await Task.Delay(100);
                            continue;
                        }

                        lost = true;
                        Interlocked.Increment(ref _lost);
                        await Task.Delay(25);
                        continue;
                    }

                    Interlocked.Increment(ref _answers);

                    if (answer.Value.Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests)
                    {
                        Interlocked.Increment(ref _busy);
                        await Task.Delay(50);
                        continue;
                    }

                    if (answer.Value.Status != HttpStatusCode.OK || answer.Value.Accepted != BatchSize)
                    {
                        _broken.Enqueue($"{(int)answer.Value.Status} {answer.Value.Body}");
                        return;
                    }

                    if (lost && answer.Value.New < BatchSize) Interlocked.Increment(ref _answeredAfterLoss);
                    if (!lost && answer.Value.New != BatchSize) _broken.Enqueue($"a first send stored {answer.Value.New} of {BatchSize} new events");
                    foreach (var id in ids) _acknowledged.Enqueue(id);
                    if (Interlocked.Increment(ref _batches) % 8 == 0)
                    {
                        // An acknowledged batch sent again on purpose: stored already, so nothing is new.
                        var (again, _) = await PostAsync(body);
                        if (again is { Status: HttpStatusCode.OK } a)
                        {
                            Interlocked.Increment(ref _duplicates);
                            if (a.New != 0) _broken.Enqueue($"an acknowledged batch sent again stored {a.New} events a second time");
                        }
                    }

                    break;
                }
            }
        }

        /// <returns>The answer, or null and whether the connection was refused (nothing sent) rather than lost.</returns>
        private async Task<((HttpStatusCode Status, int Accepted, int New, string Body)? Answer, bool Refused)> PostAsync(byte[] body)
        {
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await _http.PostAsync("/api/ingest/events", content, _stop.Token);
                var text = await response.Content.ReadAsStringAsync(_stop.Token);
                if (response.StatusCode != HttpStatusCode.OK) return ((response.StatusCode, 0, 0, text), false);
                using var json = JsonDocument.Parse(text);
                return ((response.StatusCode, json.RootElement.GetProperty("accepted").GetInt32(), json.RootElement.GetProperty("new").GetInt32(), text), false);
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return (null, true);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException && !_stop.IsCancellationRequested)
            {
                return (null, false);
            }
        }

        private static byte[] Body(Guid[] ids, DateTimeOffset at)
        {
            var events = ids.Select((id, i) => new
            {
                id,
                kind = "zone.enter",
                phase = "instant",
                camera = "vtest",
                rule = "crash-test",
                category = "public-space",
                at = at.AddMilliseconds(i),
                zone = "plaza",
                label = "person",
                count = 1,
                confidence = 0.9,
                detail = "crash test",
            });
            return JsonSerializer.SerializeToUtf8Bytes(new { events });
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
            _http.Dispose();
        }
    }
}

/// <summary>
/// <c>civiclens serve --no-pipelines</c> on the sample district as a child process (<c>dotnet civiclens.dll</c>,
/// built beside the tests), with stdout and stderr always drained. Ready once it prints where it serves.
/// </summary>
internal sealed class ServeProcess
{
    public const string AdminPassword = "lamp post harbour plaza 7";

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _log = new();
    private readonly long _spawned = Stopwatch.GetTimestamp();
    private bool _gone;

    private ServeProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Line(e.Data, ready: e.Data?.Contains("CivicLens is serving on", StringComparison.Ordinal) == true);
        _process.ErrorDataReceived += (_, e) => Line(e.Data, ready: false);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string Cli => Path.Combine(AppContext.BaseDirectory, "civiclens.dll");

    public bool IsReady => _ready.Task.IsCompletedSuccessfully;

    /// <summary>Seconds from spawning to serving.</summary>
    public double StartSeconds { get; private set; }

    public string LogTail => string.Join('\n', _log);

    /// <summary>Spawns the server and returns at once (it may not listen yet).</summary>
    public static ServeProcess Spawn(string data, int port, IReadOnlyDictionary<string, string> env)
    {
        var psi = Start(env, "serve", "--no-pipelines", "--data", data, "--urls", $"http://127.0.0.1:{port}",
            "--config", Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));
        return new ServeProcess(Process.Start(psi)!);
    }

    /// <summary>Spawns the server and waits until it serves (a minute at most).</summary>
    public static async Task<ServeProcess> StartAsync(string data, int port, IReadOnlyDictionary<string, string> env)
    {
        var server = Spawn(data, port, env);
        var exit = server._process.WaitForExitAsync();
        var done = await Task.WhenAny(server._ready.Task, exit, Task.Delay(TimeSpan.FromMinutes(1)));
        if (done != server._ready.Task)
        {
            var exited = server._process.HasExited ? $"it exited with {server._process.ExitCode}" : "it was still running";
            await server.KillAsync();
            throw new TimeoutException($"civiclens serve did not start serving within a minute ({exited}):\n{server.LogTail}");
        }

        server.StartSeconds = Stopwatch.GetElapsedTime(server._spawned).TotalSeconds;
        return server;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_gone) return;
        _gone = true;
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    /// <summary>SIGTERM, as systemd stops a service; the server must shut down cleanly within 30 s.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) } })!)
        {
            await kill.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
        Assert.True(_process.ExitCode == 0, $"civiclens serve exited {_process.ExitCode} on SIGTERM:\n{LogTail}");
    }

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs a civiclens command to its end (three minutes at most).</summary>
    public static async Task<Result> RunCliAsync(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var process = Process.Start(Start(env, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static ProcessStartInfo Start(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Never a terminal: the first-start password comes from the environment, never a prompt.
            RedirectStandardInput = true,
        };
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CIVICLENS_HOME"] = TestAssets.Home;
        psi.Environment["CIVICLENS_ADMIN_PASSWORD"] = AdminPassword;
        // Each run lives seconds: profile-guided re-jitting would only add work to the start that the test waits on.
        psi.Environment["DOTNET_TieredPGO"] = "0";
        psi.Environment.Remove("CIVICLENS_POSTGRES");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    private void Line(string? line, bool ready)
    {
        if (line is null) return;
        _log.Enqueue(line);
        while (_log.Count > 40) _log.TryDequeue(out _);
        if (ready) _ready.TrySetResult();
    }
}
