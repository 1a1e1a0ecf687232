using System.Net;
using CivicLens.Domain.Frames;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace CivicLens.Media.Tests;

/// <summary>
/// The picture size changes mid-stream: two .ts files joined with cat, 5 s of vtest.avi at 768x576 then the next 5 s
/// at 640x360 (ffprobe: 50 frames, then 50). ffmpeg alone would scale the second half to 768x576; the source must
/// deliver it at 640x360, say so, and neither lose nor repeat a frame.
/// </summary>
public sealed class FfmpegFrameSourceResolutionChangeTests : IClassFixture<FfmpegFrameSourceResolutionChangeTests.JoinedClips>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly JoinedClips _clips;
    private readonly ITestOutputHelper _output;

    public FfmpegFrameSourceResolutionChangeTests(JoinedClips clips, ITestOutputHelper output)
    {
        _clips = clips;
        _output = output;
    }

    [Theory]
    [InlineData(null, null, 768, 576, 640, 360, "")]
    [InlineData(5.0, 320, 320, 240, 320, 180, " (frames now 320x180)")]
    public async Task ReadAsync_FileChangesResolutionMidway_DeliversTheRestAtTheNewSizeWithoutLosingItsPlace(
        double? fps, int? width, int firstWidth, int firstHeight, int secondWidth, int secondHeight, string scaled)
    {
        await using var source = Open(_clips.Joined, fps, width, NullLoggerFactory.Instance);
        var health = new HealthRecorder(source);

        var frames = await Deadline.WithinAsync(ReadAllAsync(source), Bound, "the joined clip to be decoded");
        var sizes = frames.Select(f => (f.Width, f.Height)).ToList();
        var first = sizes.TakeWhile(s => s == (firstWidth, firstHeight)).Count();
        var second = sizes.Skip(first).TakeWhile(s => s == (secondWidth, secondHeight)).Count();
        _output.WriteLine($"{first} frames at {firstWidth}x{firstHeight}, then {second} at {secondWidth}x{secondHeight}; {health.Describe()}");

        var rate = fps ?? 10;
        var half = (int)(5 * rate);
        Assert.Equal(frames.Count, first + second); // one switch, and nothing at a third size
        Assert.InRange(first, half - 2, half + 2);
        Assert.InRange(second, half - 2, half + 2);
        Assert.InRange(frames.Count, 2 * half - 2, 2 * half + 2);
        Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => (long)i), frames.Select(f => f.Sequence));
        Assert.Equal(TimeSpan.Zero, frames[0].StreamTime);
        for (var i = 1; i < frames.Count; i++)
        {
            var step = frames[i].StreamTime - frames[i - 1].StreamTime;
            Assert.True(step > TimeSpan.Zero && step < TimeSpan.FromSeconds(1.5 / rate), $"stream time steps by {step} at frame {i}");
        }

        Assert.InRange(frames[^1].StreamTime.TotalSeconds, 9.5, 10.1);

        // The first frame at the new size is the second clip's first frame: decoding went on exactly where the change was.
        var firstOfSecond = frames[first].Pixels;
        var secondClip = await FirstFramesAsync(_clips.Second, fps, width, 2);
        Assert.True(Ffmpeg.MeanAbsoluteDifference(firstOfSecond, secondClip[0]) < 0.5, "the first frame at the new size is not the second clip's first frame");
        Assert.True(Ffmpeg.MeanAbsoluteDifference(firstOfSecond, secondClip[1]) > 0.5, "the first frame at the new size is the second clip's second frame");

        Assert.Equal(
            [SourceState.Starting, SourceState.Streaming, SourceState.Starting, SourceState.Streaming, SourceState.Ended],
            health.Events.Select(e => e.State));
        var change = health.Events[2];
        Assert.Equal("resolution changed from 768x576 to 640x360" + scaled, change.Reason);
        Assert.Equal((secondWidth, secondHeight), (change.Width, change.Height));
        Assert.Equal((secondWidth, secondHeight), (health.Events[3].Width, health.Events[3].Height));
        Assert.Equal((secondWidth, secondHeight), (source.Width, source.Height));
        Assert.Equal(0, source.DroppedFrames);
    }

    [Fact]
    public async Task ReadAsync_JoinedClipsOfOneSize_WarnsButNeverRestarts()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var first = await Clips.EncodeTsAsync(dir.Path, "first.ts", 0, 2, 160, 120);
        var second = await Clips.EncodeTsAsync(dir.Path, "second.ts", 2, 2, 160, 120);
        var joined = await Clips.ConcatenateAsync("joined.ts", first, second);
        var logs = new RecordingLoggerFactory();
        await using var source = Open(joined, fps: null, width: null, logs);
        var health = new HealthRecorder(source);

        var frames = await Deadline.WithinAsync(ReadAllAsync(source), Bound, "the joined clip to be decoded");

        Assert.InRange(frames.Count, 39, 41);
        Assert.All(frames, f => Assert.Equal((160, 120), (f.Width, f.Height)));
        Assert.Equal([SourceState.Starting, SourceState.Streaming, SourceState.Ended], health.Events.Select(e => e.State));
        Assert.DoesNotContain(health.Events, e => e.Reason is not null);
        // The join is noisy (a cut packet, timestamps that jump back): ffmpeg warned, and that alone restarts nothing.
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Debug && l.Message.Contains("Packet corrupt", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Message.Contains("resolution changed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_LiveStreamChangesResolution_ReconnectsAtOnceAtTheNewSize()
    {
        // An HTTP stream of the joined clip; once the source reconnects, the server streams the second clip (the camera's new size).
        using var server = new ClipServer(_clips.Joined);
        await using var source = new FfmpegFrameSource(new FrameSourceOptions
        {
            Name = "gate",
            Uri = server.Url,
            PoolCapacity = 4,
            ReconnectInitialDelay = TimeSpan.FromSeconds(60), // a backoff would outlast the test's bound
            ProbeTimeout = TimeSpan.FromSeconds(5),
        }, TimeProvider.System, NullLoggerFactory.Instance);
        source.HealthChanged += h =>
        {
            if (h.State == SourceState.Reconnecting) server.Serve(_clips.Second);
        };
        var health = new HealthRecorder(source);
        Assert.True(source.IsLive);

        var sizes = new List<(int, int)>();
        await Deadline.WithinAsync(Task.Run(async () =>
        {
            while (sizes.Count(s => s == (640, 360)) < 10)
            {
                var frame = await source.ReadAsync(CancellationToken.None);
                Assert.NotNull(frame);
                sizes.Add((frame.Width, frame.Height));
                frame.Release();
            }
        }), Bound, "10 frames at the new size");
        _output.WriteLine($"{sizes.Count} frames; {health.Describe()}");

        var large = sizes.TakeWhile(s => s == (768, 576)).Count();
        Assert.True(large > 0, "no frame before the change");
        Assert.All(sizes.Skip(large), s => Assert.Equal((640, 360), s));
        var events = health.Events;
        Assert.Equal(
            [SourceState.Starting, SourceState.Streaming, SourceState.Reconnecting, SourceState.Starting, SourceState.Streaming],
            events.Select(e => e.State));
        Assert.Equal("resolution changed from 768x576 to 640x360; reconnecting now", events[2].Reason);
        Assert.Equal((640, 360), (events[2].Width, events[2].Height));
        Assert.Equal((640, 360), (events[4].Width, events[4].Height));
        Assert.True(events[3].At - events[2].At < TimeSpan.FromSeconds(1), "the reconnect waited: a size change is no failure to back off from");
    }

    private static FfmpegFrameSource Open(string path, double? fps, int? width, ILoggerFactory logs) =>
        new(new FrameSourceOptions { Name = "walkway", Uri = path, SampleFps = fps, OutputWidth = width, PoolCapacity = 4 }, TimeProvider.System, logs);

    private sealed record Copy(long Sequence, TimeSpan StreamTime, int Width, int Height, byte[] Pixels);

    private static async Task<List<Copy>> ReadAllAsync(FfmpegFrameSource source)
    {
        var frames = new List<Copy>();
        while (await source.ReadAsync(CancellationToken.None) is { } frame)
        {
            frames.Add(new Copy(frame.Sequence, frame.StreamTime, frame.Width, frame.Height, frame.Pixels.ToArray()));
            frame.Release();
        }

        return frames;
    }

    private static async Task<List<byte[]>> FirstFramesAsync(string path, double? fps, int? width, int count)
    {
        await using var source = Open(path, fps, width, NullLoggerFactory.Instance);
        var frames = new List<byte[]>();
        while (frames.Count < count && await source.ReadAsync(CancellationToken.None) is { } frame)
        {
            frames.Add(frame.Pixels.ToArray());
            frame.Release();
        }

        return frames;
    }

    /// <summary>The clips, encoded once for the class: 5 s at 768x576, the next 5 s at 640x360, and the two joined.</summary>
    public sealed class JoinedClips : IAsyncLifetime
    {
        private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();

        public string First { get; private set; } = "";

        public string Second { get; private set; } = "";

        public string Joined { get; private set; } = "";

        public async Task InitializeAsync()
        {
            var first = Clips.EncodeTsAsync(_dir.Path, "a.ts", 0, 5, 768, 576);
            var second = Clips.EncodeTsAsync(_dir.Path, "b.ts", 5, 5, 640, 360);
            (First, Second) = (await first, await second);
            Joined = await Clips.ConcatenateAsync("ab.ts", First, Second);
        }

        public Task DisposeAsync()
        {
            _dir.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>Streams a file over HTTP to every request; <see cref="Serve"/> switches the file, as a reconfigured camera would.</summary>
    private sealed class ClipServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;
        private string _path;

        public ClipServer(string path)
        {
            _path = path;
            var port = RtspCamera.FreeTcpPort();
            Url = $"http://127.0.0.1:{port}/camera.ts";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }

        public void Serve(string path) => Volatile.Write(ref _path, path);

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        var bytes = await File.ReadAllBytesAsync(Volatile.Read(ref _path));
                        context.Response.ContentType = "video/mp2t";
                        context.Response.ContentLength64 = bytes.Length;
                        await context.Response.OutputStream.WriteAsync(bytes);
                        context.Response.Close();
                    }
                    catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                    {
                        // The client hung up (ffprobe reads only the start).
                    }
                });
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
