using System.Diagnostics;
using CivicLens.Domain.Frames;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Media.Tests;

/// <summary>Sources that cannot be read: each fails with a message an operator can act on, in bounded time.</summary>
public sealed class FfmpegFrameSourceFailureTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static FfmpegFrameSource Open(FrameSourceOptions options) => new(options, TimeProvider.System, NullLoggerFactory.Instance);

    [Fact]
    public void Constructor_MissingFile_ThrowsNamingThePath()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var missing = Path.Combine(dir.Path, "lobby.mp4");
        var ex = Assert.Throws<FrameSourceException>(() => Open(new FrameSourceOptions { Name = "lobby", Uri = missing }));
        Assert.Equal($"File not found: {missing}", ex.Message);
    }

    [Theory]
    [InlineData("ftp://x", "Unsupported source scheme 'ftp'")]
    [InlineData("rtsp://", "is not a valid URL")]
    [InlineData("rtsp:// no host/", "is not a valid URL")]
    public void Constructor_BadUrl_ThrowsFromValidation(string url, string expected)
    {
        var ex = Assert.Throws<FrameSourceException>(() => Open(new FrameSourceOptions { Name = "gate", Uri = url }));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NonPositiveSampleRate_Throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(
            () => Open(new FrameSourceOptions { Name = "walkway", Uri = TestAssets.SampleVideo, SampleFps = 0 }));
        Assert.Contains("SampleFps must be positive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_TextFile_FailsSayingItIsNotAReadableVideo()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var path = Path.Combine(dir.Path, "camera-list.txt");
        await File.WriteAllTextAsync(path, "north gate: rtsp://10.0.0.5/stream\n");
        await using var source = Open(new FrameSourceOptions { Name = "notes", Uri = path });
        var health = new HealthRecorder(source);

        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), Bound, "the read to fail"));
        Assert.StartsWith($"{path} is not a readable video: ", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, health.Last);
        Assert.Equal(ex.Message, health.Events[^1].Reason);
    }

    [Fact]
    public async Task ReadAsync_StillImage_FailsSayingItIsAStill()
    {
        var path = TestAssets.Still("person.jpg");
        await using var source = Open(new FrameSourceOptions { Name = "still", Uri = path });
        var health = new HealthRecorder(source);

        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), Bound, "the read to fail"));
        Assert.Equal($"{path} is not a video: it is a still image (mjpeg).", ex.Message);
        Assert.Equal(SourceState.Failed, health.Last);
    }

    [Fact]
    public async Task ReadAsync_TruncatedMp4_DeliversTheIntactFramesThenFailsNamingTruncation()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await Clips.EncodeMp4Async(dir.Path, "clip.mp4", 4, 160, 120); // 40 frames, index first
        var cut = await Clips.TruncateToHalfAsync(clip, "cut.mp4");
        await using var source = Open(new FrameSourceOptions { Name = "upload", Uri = cut });
        var health = new HealthRecorder(source);

        var delivered = 0;
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => Deadline.WithinAsync(Task.Run(async () =>
        {
            while (await source.ReadAsync(CancellationToken.None) is { } frame)
            {
                delivered++;
                frame.Release();
            }
        }), Bound, "the truncated file to fail"));

        Assert.InRange(delivered, 1, 35);
        Assert.StartsWith($"{cut} is truncated or corrupt: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("of the 4 s its header promises", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith($"{delivered} frames before the damage were delivered.", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SourceState.Failed, health.Last);
        Assert.StartsWith($"{cut} is truncated or corrupt", health.Events[^1].Reason, StringComparison.Ordinal);
        // A failed source stays failed, as IFrameSource documents: a later read throws again rather than looking like a clean end.
        var again = await Assert.ThrowsAsync<FrameSourceException>(() => source.ReadAsync(CancellationToken.None).AsTask());
        Assert.StartsWith($"{cut} is truncated or corrupt", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ClosedPort_ReconnectsThenGivesUpWithoutLeakingCredentials()
    {
        var port = RtspCamera.FreeTcpPort();
        await using var source = Open(new FrameSourceOptions
        {
            Name = "north-gate",
            Uri = $"rtsp://admin:hunter2@127.0.0.1:{port}/stream",
            MaxReconnectAttempts = 2,
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(100),
            ProbeTimeout = TimeSpan.FromSeconds(3),
        });
        var health = new HealthRecorder(source);
        Assert.True(source.IsLive);

        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), Bound, "the source to give up"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"giving up took {sw.Elapsed}");

        Assert.StartsWith($"Camera north-gate (rtsp://***@127.0.0.1:{port}/stream) gave up after 2 reconnect attempts: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", ex.Message, StringComparison.Ordinal);
        Assert.Equal(
            [SourceState.Starting, SourceState.Reconnecting, SourceState.Starting, SourceState.Reconnecting, SourceState.Starting, SourceState.Failed],
            health.Events.Select(e => e.State));
        Assert.EndsWith("retrying in 0.1 s", health.Events[1].Reason, StringComparison.Ordinal);
        Assert.EndsWith("retrying in 0.2 s", health.Events[3].Reason, StringComparison.Ordinal); // exponential backoff
        Assert.All(health.Events, e => Assert.Equal("north-gate", e.SourceName));
        Assert.DoesNotContain(health.Events, e => e.Reason?.Contains("hunter2", StringComparison.Ordinal) == true);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);

        // A source that gave up stays failed: later reads say why instead of looking like a clean end.
        var again = await Assert.ThrowsAsync<FrameSourceException>(() => source.ReadAsync(CancellationToken.None).AsTask());
        Assert.Equal(ex.Message, again.Message);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileReconnecting_StopsPromptly()
    {
        await using var source = Open(new FrameSourceOptions
        {
            Name = "north-gate",
            Uri = $"rtsp://127.0.0.1:{RtspCamera.FreeTcpPort()}/stream",
            ReconnectInitialDelay = TimeSpan.FromSeconds(30), // retries forever, slowly
        });
        var health = new HealthRecorder(source);
        using var cts = new CancellationTokenSource();
        var read = source.ReadAsync(cts.Token).AsTask();
        await Eventually.TrueAsync(() => health.Saw(SourceState.Reconnecting), Bound, "the source to start reconnecting");

        var sw = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Deadline.WithinAsync(read, TimeSpan.FromSeconds(5), "the cancelled read to stop"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"cancelling took {sw.Elapsed}");
    }
}
