using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Ingest;
using CivicLens.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace CivicLens.Server.Tests;

/// <summary>
/// Alone, after the parallel tests: the page-limit fallback lives in SQLite's connection pool, which any other test's
/// server clears when it stops (lifting the limit mid-test).
/// </summary>
[CollectionDefinition(nameof(SerialDiskFullTests), DisableParallelization = true)]
public sealed class SerialDiskFullTests;

/// <summary>
/// "A full disk stops snapshot writes, keeps committing events, raises an alarm and answers 503 where a write
/// cannot be honoured." The disk is a real one made full: a small tmpfs mounted for the test (this needs the
/// right to mount, which root in a container has). Where mounting is refused, the database half falls back to
/// SQLite's own limit, <c>PRAGMA max_page_count</c>, which fails writes with the same SQLITE_FULL (13) a full
/// disk gives; the snapshot half then cannot run and says so in its output (only a real folder can be full).
/// </summary>
[Collection(nameof(SerialDiskFullTests))]
public sealed class DiskFullTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Ingest_DatabaseDiskFull_Answers503WithRetryAfter_StoresNothingOfTheBatch_AndTakesItOnceSpaceIsFreed(bool connectionsOpen)
    {
        using var temp = new TempDirectory();
        using var disk = SmallDisk.TryMount(Path.Combine(temp.Path, "disk"), 32 * 1024 * 1024, out var why);
        if (disk is null) output.WriteLine($"no tmpfs ({why}); the database is made full with max_page_count instead");
        await using var server = await TestServer.StartAsync(
            tweak: o => disk is null ? o : o with { DataDirectory = disk.Path },
            configure: b =>
            {
                // The server's warnings (the store refusing a write, and the exception behind it) in this test's output.
                b.Logging.AddProvider(new OutputLogger(output));
                b.Logging.AddFilter<OutputLogger>(null, LogLevel.Warning);
            });
        using var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        var db = server.Options.EffectiveStorage.ConnectionString;
        var direct = new SqliteConnectionStringBuilder(db) { Pooling = false }.ConnectionString;

        using (var first = await node.PostAsJsonAsync("/api/ingest/events", Batch(Ids(10))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // Full: every byte of the disk taken (or the database capped at the pages it has).
        if (disk is not null)
        {
            // The WAL is emptied first, so the next commit must find new space on the disk for its pages.
            await using (var c = new SqliteConnection(direct))
            {
                await c.OpenAsync();
                await ExecAsync(c, "PRAGMA wal_checkpoint(TRUNCATE)");
            }

            Assert.Equal(0, new FileInfo(server.Options.DatabasePath + "-wal").Length);
            if (!connectionsOpen)
            {
                // Every connection closed (an idle pool emptied, or another part of the process cleared the pools):
                // SQLite removes the WAL and its shared-memory index with the last one, so the next connection must
                // create them on the full disk, and even its first read fails, as a plain I/O error.
                SqliteConnection.ClearAllPools();
                output.WriteLine($"shared-memory index present before the disk is filled: {File.Exists(server.Options.DatabasePath + "-shm")}");
            }

            disk.Fill(leaveFree: 0);
        }
        else
        {
            await PageLimit.CapAsync(db);
        }

        var ids = Ids(IngestBatchSize);
        using (var full = await node.PostAsJsonAsync("/api/ingest/events", Batch(ids)))
        {
            var body = await full.Content.ReadAsStringAsync();
            Assert.True(full.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)full.StatusCode} {body}");
            Assert.Equal("application/problem+json", full.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(full.Headers.RetryAfter);
            using var problem = JsonDocument.Parse(body);
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Contains("full", problem.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        }

        // The alarm: the server knows its store cannot take writes, and why.
        var health = server.Service<StoreHealth>();
        Assert.False(health.StoreAvailable);
        Assert.Contains("full", health.StoreProblem, StringComparison.Ordinal);
        if (disk is not null) disk.Free();
        else PageLimit.Lift();

        // The batch is stored whole or not at all (counted once there is space again: with none, even a reader may
        // fail to open the database).
        Assert.Equal(0, await CountAsync(direct, ids));

        // The node sends the rejected batch again and it is taken, whole.
        using (var again = await node.PostAsJsonAsync("/api/ingest/events", Batch(ids)))
        {
            var body = await again.Content.ReadAsStringAsync();
            Assert.True(again.StatusCode == HttpStatusCode.OK, $"{(int)again.StatusCode} {body}");
            using var result = JsonDocument.Parse(body);
            Assert.Equal(IngestBatchSize, result.RootElement.GetProperty("new").GetInt32());
        }

        Assert.Equal(IngestBatchSize, await CountAsync(direct, ids));
        await using (var c = new SqliteConnection(direct))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", await cmd.ExecuteScalarAsync());
        }
    }

    /// <summary>
    /// The snapshot folder on its own small disk with a few KB left (the writer's start-up probe fits, no JPEG
    /// does), the sample camera's pipeline running: events keep being committed without evidence, every dropped
    /// snapshot is counted on the <c>civiclens.snapshots.dropped</c> metric (the alarm) and leaves no partial file;
    /// once space is freed, evidence is written again.
    /// </summary>
    [Fact]
    public async Task Pipeline_SnapshotDiskFull_KeepsCommittingEventsWithoutEvidence_CountsTheDrops_AndResumesOnceFreed()
    {
        using var data = new TempDirectory();
        var snapshots = Path.Combine(data.Path, "snapshots");
        using var disk = SmallDisk.TryMount(snapshots, 256 * 1024, out var why);
        if (disk is null)
        {
            // Deliberately not faked: without a folder that is really full there is nothing to test here.
            output.WriteLine($"skipped: the snapshot folder needs a small tmpfs and mounting is refused here ({why})");
            return;
        }

        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CivicLens.Privacy" && instrument.Name == "civiclens.snapshots.dropped") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        disk.Fill(leaveFree: 8 * 1024);
        var config = await TestAssets.SampleConfigAsync(data.Path);
        await using var server = await TestServer.StartAsync(
            tweak: o => o with { DataDirectory = data.Path, ConfigPath = config, RunPipelines = true, SampleFps = 5 },
            configure: b =>
            {
                // The server's warnings (a dropped snapshot, a failed pipeline) in this test's output.
                b.Logging.AddProvider(new OutputLogger(output));
                b.Logging.AddFilter<OutputLogger>(null, LogLevel.Warning);
            });
        var direct = new SqliteConnectionStringBuilder(server.Options.EffectiveStorage.ConnectionString) { Pooling = false }.ConnectionString;

        var clock = Stopwatch.StartNew();
        (long Events, long WithEvidence) stored = default;
        while (clock.Elapsed < TimeSpan.FromMinutes(3) && (stored.Events < 3 || Interlocked.Read(ref dropped) == 0))
        {
            await Task.Delay(500);
            stored = await EvidenceAsync(direct);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"full: {stored.Events} events committed, {Interlocked.Read(ref dropped)} snapshots dropped after {clock.Elapsed.TotalSeconds:0} s"));
        Assert.True(stored.Events >= 3, $"the pipeline committed {stored.Events} events in 3 minutes with the snapshot disk full");
        Assert.True(Interlocked.Read(ref dropped) > 0, "no snapshot drop was counted while the snapshot disk was full");
        Assert.Equal(0, stored.WithEvidence);
        Assert.Empty(Directory.GetFiles(snapshots, "*.jpg"));
        Assert.Empty(Directory.GetFiles(snapshots, "*.tmp"));

        disk.Free();
        clock.Restart();
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && stored.WithEvidence == 0)
        {
            await Task.Delay(500);
            stored = await EvidenceAsync(direct);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"freed: {stored.Events} events, {stored.WithEvidence} with evidence after {clock.Elapsed.TotalSeconds:0} s"));
        Assert.True(stored.WithEvidence > 0, "no event got evidence within 2 minutes of freeing the snapshot disk");
        Assert.NotEmpty(Directory.GetFiles(snapshots, "*.jpg"));
    }

    private const int IngestBatchSize = 1000;

    private static Guid[] Ids(int n) => Enumerable.Range(0, n).Select(_ => Guid.NewGuid()).ToArray();

    private static object Batch(Guid[] ids)
    {
        var at = TimeProvider.System.GetUtcNow();
        // A long detail makes the batch need pages the database does not have yet (about 600 KB of rows).
        var detail = new string('x', 400);
        return new
        {
            events = ids.Select((id, i) => new
            {
                id,
                kind = "zone.enter",
                phase = "instant",
                camera = "vtest",
                rule = "disk-full-test",
                category = "public-space",
                at = at.AddMilliseconds(i),
                detail,
            }),
        };
    }

    private static async Task<long> CountAsync(string connection, Guid[] ids)
    {
        await using var c = new SqliteConnection(connection);
        await c.OpenAsync();
        await ExecAsync(c, "CREATE TEMP TABLE wanted (id TEXT PRIMARY KEY)");
        foreach (var id in ids) await ExecAsync(c, $"INSERT INTO wanted VALUES ('{id:D}')");
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM events WHERE id IN (SELECT id FROM wanted)";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<(long Events, long WithEvidence)> EvidenceAsync(string connection)
    {
        await using var c = new SqliteConnection(connection);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*), COUNT(snapshot) FROM events";
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task ExecAsync(SqliteConnection c, string sql)
    {
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The fallback where no disk can be mounted. <c>max_page_count</c> holds per connection, not per file, so it
    /// is set on connections that then go back to Microsoft.Data.Sqlite's pool, which this in-process server
    /// draws its connections from (same connection string). Clearing the pool lifts it.
    /// </summary>
    private static class PageLimit
    {
        public static async Task CapAsync(string connection)
        {
            SqliteConnection.ClearAllPools();
            var held = new List<SqliteConnection>();
            try
            {
                for (var i = 0; i < 16; i++)
                {
                    var c = new SqliteConnection(connection);
                    held.Add(c);
                    await c.OpenAsync();
                    await using var cmd = c.CreateCommand();
                    cmd.CommandText = "PRAGMA page_count";
                    var pages = (long)(await cmd.ExecuteScalarAsync())!;
                    cmd.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA max_page_count = {pages}");
                    await cmd.ExecuteNonQueryAsync();
                }
            }
            finally
            {
                foreach (var c in held) await c.DisposeAsync();
            }
        }

        public static void Lift() => SqliteConnection.ClearAllPools();
    }
}

/// <summary>Log lines into a test's output (only while the test runs; later ones are dropped).</summary>
internal sealed class OutputLogger(ITestOutputHelper output) : ILoggerProvider, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{logLevel}: {formatter(state, exception)} {exception}");
        }
        catch (InvalidOperationException)
        {
            // The test has finished.
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>A small tmpfs mounted for one test: a disk that can really be filled, and freed again.</summary>
internal sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    private string Filler => System.IO.Path.Combine(Path, ".filler");

    /// <returns>The mounted disk, or null with the reason when this machine does not let the test mount one.</returns>
    public static SmallDisk? TryMount(string path, long bytes, out string? why)
    {
        Directory.CreateDirectory(path);
        var (code, error) = Run("mount", "-t", "tmpfs", "-o", string.Create(CultureInfo.InvariantCulture, $"size={bytes},mode=0700"), "civiclens-test", path);
        why = code == 0 ? null : $"mount exited {code}: {error.Trim()}";
        return code == 0 ? new SmallDisk(path) : null;
    }

    /// <summary>Takes all the free space but <paramref name="leaveFree"/> bytes (0: until the disk refuses).</summary>
    public void Fill(long leaveFree)
    {
        var chunk = new byte[64 * 1024];
        Random.Shared.NextBytes(chunk);
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write, FileShare.None, 1);
        while (true)
        {
            var free = new DriveInfo(Path).AvailableFreeSpace - leaveFree;
            if (leaveFree > 0 && free <= 0) return;
            var size = leaveFree > 0 ? (int)Math.Min(chunk.Length, free) : chunk.Length;
            try
            {
                file.Write(chunk, 0, Math.Max(size, 1));
                file.Flush();
            }
            catch (IOException) when (leaveFree == 0)
            {
                if (size == 1 || new DriveInfo(Path).AvailableFreeSpace == 0) return;
                chunk = new byte[Math.Max(1, size / 16)];
            }
        }
    }

    public void Free() => File.Delete(Filler);

    public void Dispose()
    {
        // Lazily: a process that still holds a file there must not keep the mount (or the test) alive.
        Run("umount", "-l", Path);
    }

    private static (int Code, string Error) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var error = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, error);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
