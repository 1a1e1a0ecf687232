using CivicLens.Domain.Frames;
using CivicLens.TestSupport;

namespace CivicLens.Media.Tests;

public sealed class SourceUriTests
{
    [Fact]
    public void Parse_ExistingFile_IsAFileWithItsFullPath()
    {
        var uri = SourceUri.Parse(TestAssets.SampleVideo);
        Assert.True(uri.IsFile);
        Assert.False(uri.IsRtsp);
        Assert.Equal(Path.GetFullPath(TestAssets.SampleVideo), uri.Value);
    }

    [Fact]
    public void Parse_FileUrl_IsTheLocalFile()
    {
        var uri = SourceUri.Parse(new Uri(TestAssets.SampleVideo).AbsoluteUri);
        Assert.True(uri.IsFile);
        Assert.Equal(Path.GetFullPath(TestAssets.SampleVideo), uri.Value);
    }

    [Fact]
    public void Parse_MissingFile_ThrowsNamingTheFullPath()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var missing = Path.Combine(dir.Path, "no-such-clip.mp4");
        var ex = Assert.Throws<FrameSourceException>(() => SourceUri.Parse(missing));
        Assert.Equal($"File not found: {missing}", ex.Message);
    }

    [Fact]
    public void Parse_Folder_ThrowsSayingItIsAFolder()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var ex = Assert.Throws<FrameSourceException>(() => SourceUri.Parse(dir.Path));
        Assert.Contains("is a folder, not a video file", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://x/clip.mp4", "Unsupported source scheme 'ftp'")]
    [InlineData("udp://239.0.0.1:1234", "Unsupported source scheme 'udp'")]
    [InlineData("rtsp://", "'rtsp://' is not a valid URL.")]
    [InlineData("http://", "'http://' is not a valid URL.")]
    [InlineData("rtsp://:554/stream", "is not a valid URL")]
    [InlineData("  ", "No source given.")]
    [InlineData("", "No source given.")]
    public void Parse_UnusableUrl_ThrowsWithTheReason(string source, string expected)
    {
        var ex = Assert.Throws<FrameSourceException>(() => SourceUri.Parse(source));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Garbage_IsTreatedAsAMissingFile()
    {
        var ex = Assert.Throws<FrameSourceException>(() => SourceUri.Parse("not a camera at all"));
        Assert.StartsWith("File not found: ", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith("not a camera at all", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InvalidUrlWithCredentials_KeepsThePasswordOutOfTheMessage()
    {
        var ex = Assert.Throws<FrameSourceException>(() => SourceUri.Parse("rtsp://admin:hunter2@/stream"));
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rtsp://***@/stream", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rtsp://cam.local:554/stream", true)]
    [InlineData("RTSPS://cam.local/stream", true)]
    [InlineData("http://cam.local/video.mjpg", false)]
    [InlineData("https://cdn.example.org/live/index.m3u8", false)]
    public void Parse_StreamUrl_IsLiveAndKeepsTheUrl(string source, bool rtsp)
    {
        var uri = SourceUri.Parse(source);
        Assert.False(uri.IsFile);
        Assert.Equal(rtsp, uri.IsRtsp);
        Assert.Equal(source, uri.Value);
    }

    [Theory]
    [InlineData("rtsp://admin:hunter2@10.0.0.5:554/stream", "rtsp://***@10.0.0.5:554/stream")]
    [InlineData("rtsp://admin@10.0.0.5/stream", "rtsp://***@10.0.0.5/stream")]
    [InlineData("rtsp://admin:p@ss@10.0.0.5/stream", "rtsp://***@10.0.0.5/stream")] // ffmpeg takes the last '@' before the path
    [InlineData("https://user:pass@cdn.example.org", "https://***@cdn.example.org")]
    [InlineData("rtsp://10.0.0.5/stream", "rtsp://10.0.0.5/stream")]
    [InlineData("rtsp://10.0.0.5/snap@2x", "rtsp://10.0.0.5/snap@2x")]
    [InlineData("rtsp://admin:hunter2@10.0.0.5/stream: Connection refused", "rtsp://***@10.0.0.5/stream: Connection refused")]
    [InlineData("/videos/lobby@night.mp4", "/videos/lobby@night.mp4")]
    public void Redact_Text_ReplacesOnlyCredentials(string text, string expected)
    {
        Assert.Equal(expected, SourceUri.Redact(text));
    }

    [Fact]
    public void Display_UrlWithCredentials_IsRedacted()
    {
        var uri = SourceUri.Parse("rtsp://admin:hunter2@10.0.0.5/stream");
        Assert.Equal("rtsp://***@10.0.0.5/stream", uri.Display);
        Assert.Equal("rtsp://admin:hunter2@10.0.0.5/stream", uri.Value);
    }
}
