using System.Diagnostics;
using CivicLens.Domain.Frames;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace CivicLens.Media.Tests;

/// <summary>
/// A real RTSP camera (gst-rtsp-server serving vtest.avi) killed, frozen and restarted under a live source:
/// the source reports Reconnecting, never hangs, and resumes delivering frames once the camera is back.
/// </summary>
public sealed class FfmpegFrameSourceRtspTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;

    public FfmpegFrameSourceRtspTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task ReadAsync_CameraKilledAndRestarted_ReconnectsAndResumesFrames()
    {
        await using var camera = await RtspCamera.StartAsync(TestAssets.SampleVideo);
        await using var source = Open(camera.Url("viewer:s3cret"), TimeSpan.FromSeconds(5));
        var health = new HealthRecorder(source);
        await using var reader = FrameReader.Start(source);

        await health.UntilAsync(() => reader.Count >= 10, Bound, "10 frames from the camera");
        Assert.Equal(SourceState.Streaming, health.Last);
        Assert.Equal((160, 120), (source.Width, source.Height));

        var beforeKill = health.Count;
        await camera.KillAsync();
        // The stream ends, then at least one attempt finds the port closed: the source keeps trying while the camera is down.
        await health.UntilAsync(() => health.Since(beforeKill).Count(e => e.State == SourceState.Reconnecting) >= 2, Bound,
            "two Reconnecting reports after the camera died");
        Assert.StartsWith("stream ended", health.Since(beforeKill).First(e => e.State == SourceState.Reconnecting).Reason, StringComparison.Ordinal);
        var framesWhileDown = reader.Count;

        var beforeRestart = health.Count;
        await camera.RestartAsync();
        await health.UntilAsync(() => reader.Count >= framesWhileDown + 10 && health.Last == SourceState.Streaming, Bound,
            "10 more frames after the camera came back");
        Assert.True(health.Saw(SourceState.Streaming, beforeRestart));
        await reader.DisposeAsync();
        _output.WriteLine(health.Describe());

        Assert.Null(reader.Error);
        Assert.True(reader.InOrder, "sequence numbers or stream times went backwards across the reconnect");
        var reasons = health.Events.Select(e => e.Reason).OfType<string>().ToList();
        Assert.Contains(reasons, r => r.Contains("rtsp://***@127.0.0.1:", StringComparison.Ordinal)); // the URL, redacted
        Assert.DoesNotContain(reasons, r => r.Contains("s3cret", StringComparison.Ordinal));
        Assert.DoesNotContain(health.Events, e => e.State == SourceState.Failed);
    }

    [Fact]
    public async Task ReadAsync_CameraFrozen_StallWatchdogRestartsFfmpegAndFramesResume()
    {
        await using var camera = await RtspCamera.StartAsync(TestAssets.SampleVideo);
        var stall = TimeSpan.FromSeconds(2);
        await using var source = Open(camera.Url(), stall);
        var health = new HealthRecorder(source);
        await using var reader = FrameReader.Start(source);
        await health.UntilAsync(() => reader.Count >= 5, Bound, "5 frames from the camera");

        // SIGSTOP: the TCP connection stays open and silent, so only the watchdog can notice.
        var beforePause = health.Count;
        var sw = Stopwatch.StartNew();
        await camera.PauseAsync();
        await health.UntilAsync(() => health.Saw(SourceState.Reconnecting, beforePause), TimeSpan.FromSeconds(15),
            "Reconnecting after the camera froze");
        var detected = sw.Elapsed;
        var reconnect = health.Since(beforePause).First(e => e.State == SourceState.Reconnecting);
        Assert.StartsWith("no frame for 2 s (stream stalled)", reconnect.Reason, StringComparison.Ordinal);
        Assert.InRange(detected, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6));

        var framesWhileFrozen = reader.Count;
        await camera.ResumeAsync();
        await health.UntilAsync(() => reader.Count >= framesWhileFrozen + 5 && health.Last == SourceState.Streaming, Bound,
            "5 more frames after the camera thawed");
        await reader.DisposeAsync();
        _output.WriteLine($"stall detected {detected.TotalSeconds:0.0} s after SIGSTOP; {health.Describe()}");
        Assert.Null(reader.Error);
        Assert.DoesNotContain(health.Events, e => e.State == SourceState.Failed);
    }

    private static FfmpegFrameSource Open(string url, TimeSpan stallTimeout) =>
        new(new FrameSourceOptions
        {
            Name = "walkway",
            Uri = url,
            OutputWidth = 160,
            PoolCapacity = 4,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            StallTimeout = stallTimeout,
            ProbeTimeout = TimeSpan.FromSeconds(3),
        }, TimeProvider.System, NullLoggerFactory.Instance);
}
