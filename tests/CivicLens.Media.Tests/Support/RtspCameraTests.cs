using CivicLens.TestSupport;

namespace CivicLens.Media.Tests.Support;

/// <summary>The test camera itself (tools/rtsp-camera.py): what the ingest tests rely on it to do.</summary>
public sealed class RtspCameraTests
{
    [Fact]
    public async Task StartAsync_SampleVideo_ServesH264AtTheRequestedSizeAndRate()
    {
        await using var camera = await RtspCamera.StartAsync(TestAssets.SampleVideo, "walkway/main", width: 160, height: 120, fps: 15);
        var info = await MediaProbe.ProbeAsync(SourceUri.Parse(camera.Url()), TimeSpan.FromSeconds(15), CancellationToken.None);
        Assert.Equal(("h264", 160, 120), (info.Codec, info.Width, info.Height));
        Assert.Equal(15, info.FramesPerSecond!.Value, 1);
        Assert.Equal(0, await camera.StopAsync(TimeSpan.FromSeconds(10))); // SIGTERM is a clean exit
    }

    [Fact]
    public async Task StartAsync_MissingFile_FailsWithTheScriptsError()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => RtspCamera.StartAsync("/nonexistent/clip.avi"));
        Assert.Contains("exited with code 1 before it was ready", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no such file: /nonexistent/clip.avi", ex.Message, StringComparison.Ordinal);
    }
}
