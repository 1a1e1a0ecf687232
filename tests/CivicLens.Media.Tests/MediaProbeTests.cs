using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CivicLens.Domain.Frames;
using CivicLens.Media.Tests.Support;
using CivicLens.TestSupport;

namespace CivicLens.Media.Tests;

public sealed class MediaProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ProbeAsync_SampleVideo_ReportsSizeRateCodecAndDuration()
    {
        var info = await MediaProbe.ProbeAsync(SourceUri.Parse(TestAssets.SampleVideo), Timeout, CancellationToken.None);
        Assert.Equal((768, 576), (info.Width, info.Height));
        Assert.Equal(10, info.FramesPerSecond!.Value, 3);
        Assert.Equal("msmpeg4v3", info.Codec);
        Assert.Equal(79.5, info.Duration!.Value.TotalSeconds, 1);
    }

    [Fact]
    public async Task ProbeAsync_TextFile_ThrowsNotAReadableVideo()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var path = Path.Combine(dir.Path, "notes.mp4");
        await File.WriteAllTextAsync(path, "This is a shopping list, not a video.\n");
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => MediaProbe.ProbeAsync(SourceUri.Parse(path), Timeout, CancellationToken.None));
        Assert.StartsWith($"{path} is not a readable video: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_StillJpeg_ThrowsStillImage()
    {
        var path = TestAssets.Still("person.jpg");
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => MediaProbe.ProbeAsync(SourceUri.Parse(path), Timeout, CancellationToken.None));
        Assert.Equal($"{path} is not a video: it is a still image (mjpeg).", ex.Message);
    }

    [Fact]
    public async Task ProbeAsync_Mp4CutBeforeItsIndex_ThrowsNotAReadableVideo()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await Clips.EncodeMp4Async(dir.Path, "clip.mp4", 2, 160, 120, faststart: false);
        var cut = await Clips.TruncateToHalfAsync(clip, "cut.mp4");
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => MediaProbe.ProbeAsync(SourceUri.Parse(cut), Timeout, CancellationToken.None));
        Assert.StartsWith($"{cut} is not a readable video: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("moov atom not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_ClosedPort_ThrowsCannotBeOpenedWithoutTheCredentials()
    {
        var url = $"rtsp://admin:hunter2@127.0.0.1:{RtspCamera.FreeTcpPort()}/stream";
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => MediaProbe.ProbeAsync(SourceUri.Parse(url), Timeout, CancellationToken.None));
        Assert.StartsWith("rtsp://***@127.0.0.1:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be opened", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_ServerThatNeverAnswers_GivesUpAtTheTimeout()
    {
        // Connections complete into the listen backlog, but nothing ever answers the RTSP request.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = $"rtsp://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/stream";
        var timeout = TimeSpan.FromSeconds(1);
        var sw = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<FrameSourceException>(
            () => Deadline.WithinAsync(MediaProbe.ProbeAsync(SourceUri.Parse(url), timeout, CancellationToken.None), TimeSpan.FromSeconds(10), "the probe to give up"));
        Assert.StartsWith(url, ex.Message, StringComparison.Ordinal);
        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Parse_NoVideoStream_ThrowsNoVideoStream()
    {
        var source = SourceUri.Parse(TestAssets.SampleVideo);
        var ex = Assert.Throws<FrameSourceException>(() => MediaProbe.Parse("""{"streams":[],"format":{"format_name":"wav"}}""", source));
        Assert.EndsWith("is not a video: it has no video stream.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VariableRateWithoutAverage_FallsBackToTheRealFrameRate()
    {
        var source = SourceUri.Parse(TestAssets.SampleVideo);
        var info = MediaProbe.Parse(
            """{"streams":[{"codec_name":"h264","width":640,"height":360,"avg_frame_rate":"0/0","r_frame_rate":"30000/1001"}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}""",
            source);
        Assert.Equal(29.97, info.FramesPerSecond!.Value, 2);
        Assert.Null(info.Duration);
    }
}
