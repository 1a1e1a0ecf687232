using System.Collections.Concurrent;
using System.Diagnostics;
using CivicLens.Domain.Cameras;
using CivicLens.Domain.Frames;
using CivicLens.Pipeline.Output;
using CivicLens.Pipeline.Supervision;
using CivicLens.Rules.Configuration;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Pipeline.Tests.Supervision;

/// <summary>
/// One camera's failure stays its own: the real detector on the real footage, three cameras sharing it, one of
/// them broken at run time.
/// </summary>
public sealed class CameraSupervisorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ApplyAsync_OneCameraThrowsAtRunTime_OthersKeepAnalysingWithoutAGap()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var district = ConfigLoader.LoadFile(await TestAssets.SampleConfigAsync(dir.Path));
        var sample = district.Cameras[0];
        var breakAt = new ConcurrentDictionary<string, long>();
        var frameTimes = new ConcurrentDictionary<string, ConcurrentQueue<long>>();
        var states = new ConcurrentQueue<(string Camera, CameraStatus Status)>();
        var options = new CameraSupervisorOptions
        {
            FirstRetry = TimeSpan.FromMilliseconds(500),
            MaxRetry = TimeSpan.FromSeconds(2),
            WrapObserver = (id, inner) => new Probe(id, inner, breakAt, frameTimes),
        };
        await using var supervisor = new CameraSupervisor(new AnalysisSettings
        {
            ModelsDirectory = TestAssets.ModelsDirectory,
            SnapshotDirectory = Path.Combine(dir.Path, "snapshots"),
            SampleFps = 5,
            LoopFileSources = true,
        }, district, new NullSink(), new CameraRuntimes(TimeProvider.System), options, NullLoggerFactory.Instance, TimeProvider.System,
            (id, s) => states.Enqueue((id, s)));
        string[] ids = ["north", "south", "broken"];
        await supervisor.ApplyAsync([.. ids.Select(id => new CameraSpec(sample with { Id = id }, TestAssets.SampleVideo))], CancellationToken.None);

        await Eventually.TrueAsync(() => ids.All(id => supervisor.Find(id)!.Status.State == CameraState.Streaming && supervisor.Find(id)!.Counters.Analysed > 10),
            Deadline, "all three cameras streaming with frames analysed");
        var north = supervisor.Find("north")!;
        var south = supervisor.Find("south")!;
        var before = (North: north.Counters.Analysed, South: south.Counters.Analysed);

        // Break one camera's rules from its next frame on, for good: every retry fails again.
        breakAt["broken"] = 0;
        await Eventually.TrueAsync(() => supervisor.Find("broken")!.Status.State == CameraState.Failed, Deadline, "the broken camera marked failed");
        var failed = supervisor.Find("broken")!.Status;
        Assert.Contains("rule evaluation failed on purpose", failed.Reason, StringComparison.Ordinal);
        var failedAt = Stopwatch.GetTimestamp();
        await Eventually.TrueAsync(() => supervisor.Find("broken")!.Restarts >= 2, Deadline, "the broken camera retried with backoff");

        // The others went on: same run (never restarted), streaming, and their counters rose throughout.
        Assert.Equal(0, north.Restarts);
        Assert.Equal(0, south.Restarts);
        Assert.Equal(CameraState.Streaming, north.Status.State);
        Assert.Equal(CameraState.Streaming, south.Status.State);
        Assert.True(north.Counters.Analysed > before.North + 5, $"north analysed {north.Counters.Analysed - before.North} frames while the other camera failed");
        Assert.True(south.Counters.Analysed > before.South + 5, $"south analysed {south.Counters.Analysed - before.South} frames while the other camera failed");
        // No gap: at 5 fps a frame comes every 200 ms; the longest pause of a healthy camera after the failure stays well under the first retry's second.
        foreach (var id in new[] { "north", "south" })
        {
            var times = frameTimes[id].Where(t => t >= failedAt - Stopwatch.Frequency).ToArray();
            var gap = times.Zip(times.Skip(1), (a, b) => (b - a) / (double)Stopwatch.Frequency).DefaultIfEmpty().Max();
            Assert.True(times.Length > 5, $"{id}: {times.Length} frames after the failure");
            Assert.True(gap < 1.5, $"{id}: longest pause between analysed frames {gap:0.00} s around the other camera's failure");
        }

        Assert.DoesNotContain(states, s => s.Camera != "broken" && s.Status.State == CameraState.Failed);
    }

    [Fact]
    public async Task ApplyAsync_CameraRemovedAndEdited_OnlyThatCameraChanges()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var district = ConfigLoader.LoadFile(await TestAssets.SampleConfigAsync(dir.Path));
        var sample = district.Cameras[0];
        var runtimes = new CameraRuntimes(TimeProvider.System);
        await using var supervisor = new CameraSupervisor(new AnalysisSettings { ModelsDirectory = TestAssets.ModelsDirectory, SampleFps = 5 }, district,
            new NullSink(), runtimes, new CameraSupervisorOptions(), NullLoggerFactory.Instance, TimeProvider.System, (_, _) => { });
        var a = new CameraSpec(sample with { Id = "a" }, TestAssets.SampleVideo);
        var b = new CameraSpec(sample with { Id = "b" }, TestAssets.SampleVideo);
        await supervisor.ApplyAsync([a, b], CancellationToken.None);
        await Eventually.TrueAsync(() => supervisor.Workers.All(w => w.Counters.Analysed > 3), Deadline, "both cameras analysing");
        var workerA = supervisor.Find("a")!;

        // A rules edit reaches the running camera without a restart; removing the other stops only it.
        var edited = a with { Camera = a.Camera with { Rules = [.. a.Camera.Rules.Skip(1)] } };
        var version = runtimes.Find("a")!.GeometryVersion;
        await supervisor.ApplyAsync([edited], CancellationToken.None);
        Assert.Null(supervisor.Find("b"));
        Assert.Null(runtimes.Find("b"));
        Assert.Same(workerA, supervisor.Find("a"));
        await Eventually.TrueAsync(() => runtimes.Find("a") is { } r && r.AppliedGeometryVersion > version, Deadline, "the edit applied to the running camera");
        Assert.Equal(0, workerA.Restarts);
        Assert.Same(edited, workerA.Spec);
    }

    [Fact]
    public async Task ApplyAsync_StreamCannotBeOpened_OfflineNotFailed()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var district = ConfigLoader.LoadFile(await TestAssets.SampleConfigAsync(dir.Path));
        await using var supervisor = new CameraSupervisor(new AnalysisSettings { ModelsDirectory = TestAssets.ModelsDirectory }, district, new NullSink(),
            new CameraRuntimes(TimeProvider.System), new CameraSupervisorOptions { FirstRetry = TimeSpan.FromMilliseconds(200) }, NullLoggerFactory.Instance,
            TimeProvider.System, (_, _) => { });
        // Nothing listens there: a camera whose stream is dead, with credentials in its address.
        var dead = $"rtsp://operator:s3cret-pass@127.0.0.1:{RtspCamera.FreeTcpPort()}/stream1";
        var sample = district.Cameras[0] with { Id = "dead", Health = new HealthConfig { OfflineAfter = TimeSpan.FromSeconds(2) } };
        await supervisor.ApplyAsync([new CameraSpec(sample, dead)], CancellationToken.None);
        await Eventually.TrueAsync(() => supervisor.Find("dead")!.Status.State == CameraState.Offline, Deadline, "a dead stream marked offline");
        var status = supervisor.Find("dead")!.Status;
        Assert.DoesNotContain("s3cret", status.Reason ?? "", StringComparison.Ordinal);
        Assert.NotEqual(CameraState.Failed, status.State);
    }

    /// <summary>Counts each camera's frames and throws inside the chosen cameras' rules from a frame on.</summary>
    private sealed class Probe(string id, IPipelineObserver inner, ConcurrentDictionary<string, long> breakAt, ConcurrentDictionary<string, ConcurrentQueue<long>> times)
        : IPipelineObserver
    {
        public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            if (breakAt.ContainsKey(id)) throw new InvalidOperationException("rule evaluation failed on purpose (test)");
            await inner.OnFrameAsync(analysis, cancellationToken);
            times.GetOrAdd(id, _ => new ConcurrentQueue<long>()).Enqueue(Stopwatch.GetTimestamp());
        }

        public void OnHealth(SourceHealth health) => inner.OnHealth(health);
    }

    private sealed class NullSink : IRuleEventSink
    {
        public ValueTask OnEventsAsync(IReadOnlyList<EvidencedEvent> events, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

public sealed class CameraWorkerReasonTests
{
    [Theory]
    [InlineData("rtsp://admin:pw@10.0.0.9/live: Connection refused", "(the stream address) Connection refused")]
    [InlineData("Server returned 401 for http://10.0.0.9/cgi?user=a&password=b", "Server returned 401 for (the stream address)")]
    [InlineData("no frames for 10 s", "no frames for 10 s")]
    public void Safe_ReasonNamingAStream_AddressReplaced(string reason, string expected) =>
        Assert.Equal(expected, CameraWorker.Safe(reason));
}
