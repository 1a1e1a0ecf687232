using CivicLens.Domain.Frames;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Media.Tests;

/// <summary>Finite files: every sampled frame delivered, in order, with backpressure instead of drops.</summary>
public sealed class FfmpegFrameSourceFileTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static FfmpegFrameSource Open(string path, double? fps, int? width, int pool = 4) =>
        new(new FrameSourceOptions { Name = "walkway", Uri = path, SampleFps = fps, OutputWidth = width, PoolCapacity = pool },
            TimeProvider.System, NullLoggerFactory.Instance);

    [Theory]
    [InlineData(5.0)]
    [InlineData(2.5)]
    public async Task ReadAsync_SampleVideoAtSampleFps_DeliversDurationTimesRateFramesInOrder(double fps)
    {
        await using var source = Open(TestAssets.SampleVideo, fps, 160);
        var health = new HealthRecorder(source);
        Assert.False(source.IsLive);

        var count = 0;
        var lastCaptured = DateTimeOffset.MinValue;
        await Deadline.WithinAsync(Task.Run(async () =>
        {
            while (await source.ReadAsync(CancellationToken.None) is { } frame)
            {
                Assert.Equal((160, 120), (frame.Width, frame.Height));
                Assert.Equal(count, frame.Sequence);
                Assert.Equal(TimeSpan.FromSeconds(count / fps), frame.StreamTime);
                Assert.True(frame.CapturedAt >= lastCaptured, "CapturedAt went backwards");
                lastCaptured = frame.CapturedAt;
                count++;
                frame.Release();
            }
        }), Bound, "the whole sample video to be decoded");

        // 79.5 s of footage; ffmpeg's fps filter rounds the last frame either way.
        var expected = 79.5 * fps;
        Assert.InRange(count, (int)Math.Floor(expected) - 1, (int)Math.Ceiling(expected) + 1);
        Assert.Equal((160, 120), (source.Width, source.Height));
        Assert.Equal(0, source.DroppedFrames);
        Assert.Null(await source.ReadAsync(CancellationToken.None)); // stays ended
        Assert.Equal([SourceState.Starting, SourceState.Streaming, SourceState.Ended], health.Events.Select(e => e.State));
        Assert.Equal((160, 120), (health.Events[1].Width, health.Events[1].Height));
    }

    [Fact]
    public async Task ReadAsync_HalfTheNativeRate_DeliversEveryOtherFrame()
    {
        var all = await FirstFramesAsync(fps: null, count: 12);
        var half = await FirstFramesAsync(fps: 5, count: 6);
        for (var k = 0; k < half.Count; k++)
        {
            Assert.True(Ffmpeg.MeanAbsoluteDifference(half[k], all[2 * k]) < 0.5, $"sampled frame {k} is not native frame {2 * k}");
            Assert.True(Ffmpeg.MeanAbsoluteDifference(half[k], all[2 * k + 1]) > 0.5, $"sampled frame {k} equals native frame {2 * k + 1}: nothing moves?");
        }
    }

    [Fact]
    public async Task ReadAsync_NoWidthGiven_KeepsTheSourceSize()
    {
        await using var source = Open(TestAssets.SampleVideo, fps: null, width: null);
        var frame = await Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), Bound, "the first frame");
        Assert.NotNull(frame);
        Assert.Equal((768, 576, 768 * 3), (frame.Width, frame.Height, frame.Stride));
        Assert.Equal(768 * 576 * 3, frame.Pixels.Length);
        Assert.Contains(frame.Pixels, b => b != 0); // decoded pixels, not an empty buffer
        frame.Release();
    }

    [Fact]
    public async Task ReadAsync_FramesReleased_CycleThroughTheSamePooledBuffers()
    {
        await using var source = Open(TestAssets.SampleVideo, fps: null, width: 96, pool: 3);
        var seen = new HashSet<Frame>(ReferenceEqualityComparer.Instance);
        await Deadline.WithinAsync(Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                var frame = await source.ReadAsync(CancellationToken.None);
                Assert.NotNull(frame);
                seen.Add(frame);
                frame.Release();
            }
        }), Bound, "60 frames from a pool of 3 (a frame not returned to the pool blocks the file source)");
        Assert.InRange(seen.Count, 1, 3);
    }

    [Fact]
    public async Task ReadAsync_ConsumerHoldsEveryFrame_WaitsInsteadOfDropping()
    {
        await using var source = Open(TestAssets.SampleVideo, fps: null, width: 96, pool: 2);
        var a = await source.ReadAsync(CancellationToken.None);
        var b = await source.ReadAsync(CancellationToken.None);
        Assert.NotNull(a);
        Assert.NotNull(b);

        var third = source.ReadAsync(CancellationToken.None).AsTask();
        var first = await Task.WhenAny(third, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.NotSame(third, first); // no free frame: a file waits for the consumer

        a.Release();
        var c = await Deadline.WithinAsync(third, TimeSpan.FromSeconds(10), "the read waiting for a free frame");
        Assert.NotNull(c);
        Assert.Equal(2, c.Sequence); // nothing was skipped while it waited
        Assert.Same(a, c);
        Assert.Equal(0, source.DroppedFrames);
        b.Release();
        c.Release();
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileWaitingForAFrame_ThrowsAndTheSourceStaysUsable()
    {
        await using var source = Open(TestAssets.SampleVideo, fps: null, width: 96, pool: 1);
        var held = await source.ReadAsync(CancellationToken.None);
        Assert.NotNull(held);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.ReadAsync(cts.Token).AsTask());
        held.Release();
        var next = await Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), TimeSpan.FromSeconds(10), "a read after a cancelled one");
        Assert.NotNull(next);
        Assert.Equal(1, next.Sequence);
        next.Release();
    }

    [Fact]
    public async Task ReadAsync_LoopedFile_KeepsDeliveringPastTheEnd()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await Clips.EncodeMp4Async(dir.Path, "one-second.mp4", 1, 96, 72);
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "soak", Uri = clip, Loop = true, PoolCapacity = 4 }, TimeProvider.System, NullLoggerFactory.Instance);
        var health = new HealthRecorder(source);
        Assert.False(source.IsLive); // a looped file still waits for its consumer

        var last = TimeSpan.MinValue;
        await Deadline.WithinAsync(Task.Run(async () =>
        {
            for (var i = 0; i < 35; i++) // three and a half times the clip's 10 frames
            {
                var frame = await source.ReadAsync(CancellationToken.None);
                Assert.NotNull(frame);
                Assert.True(frame.StreamTime > last, "stream time went backwards on a loop");
                last = frame.StreamTime;
                frame.Release();
            }
        }), Bound, "35 frames from a looped one-second clip");
        Assert.DoesNotContain(health.Events, e => e.State is SourceState.Ended or SourceState.Reconnecting or SourceState.Failed);
    }

    [Fact]
    public async Task ReadAsync_LiveSourceWithNoFreeFrame_DropsAndCountsInsteadOfWaiting()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await Clips.EncodeMp4Async(dir.Path, "one-second.mp4", 1, 96, 72);
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "soak", Uri = clip, Loop = true, Realtime = true, PoolCapacity = 2 }, TimeProvider.System, NullLoggerFactory.Instance);
        var a = await source.ReadAsync(CancellationToken.None);
        var b = await source.ReadAsync(CancellationToken.None);
        Assert.NotNull(a);
        Assert.NotNull(b);

        var next = source.ReadAsync(CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => source.DroppedFrames >= 10, TimeSpan.FromSeconds(20), "10 frames dropped while the consumer holds the whole pool");
        Assert.False(next.IsCompleted);

        b.Release();
        var c = await Deadline.WithinAsync(next, TimeSpan.FromSeconds(10), "a frame once one was released");
        Assert.NotNull(c);
        Assert.True(c.Sequence >= 2 + 10, $"sequence {c.Sequence} does not count the dropped frames");
        a.Release();
        c.Release();
    }

    private static async Task<List<byte[]>> FirstFramesAsync(double? fps, int count)
    {
        await using var source = Open(TestAssets.SampleVideo, fps, 192);
        var frames = new List<byte[]>();
        while (frames.Count < count)
        {
            var frame = await Deadline.WithinAsync(source.ReadAsync(CancellationToken.None).AsTask(), Bound, "a frame");
            Assert.NotNull(frame);
            frames.Add(frame.Pixels.ToArray());
            frame.Release();
        }

        return frames;
    }
}
