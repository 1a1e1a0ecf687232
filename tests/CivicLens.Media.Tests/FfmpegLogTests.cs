namespace CivicLens.Media.Tests;

/// <summary>Reading ffmpeg's stderr: the level tag, and the one line that means the picture size changed.</summary>
public sealed class FfmpegLogTests
{
    [Theory]
    [InlineData("[mpegts @ 0x55f6fcc74940] [warning] Packet corrupt (stream = 0, dts = 567000).", "Warning", "[mpegts @ 0x55f6fcc74940] Packet corrupt (stream = 0, dts = 567000).")]
    [InlineData("[warning] ab.ts: corrupt input packet in stream 0", "Warning", "ab.ts: corrupt input packet in stream 0")]
    [InlineData("[info] Input #0, mpegts, from 'ab.ts':", "Info", "Input #0, mpegts, from 'ab.ts':")]
    [InlineData("[tcp @ 0x1] [error] Connection to tcp://127.0.0.1:1 failed: Connection refused", "Error", "[tcp @ 0x1] Connection to tcp://127.0.0.1:1 failed: Connection refused")]
    [InlineData("[fatal] pipe:0: Invalid data found when processing input", "Error", "pipe:0: Invalid data found when processing input")]
    [InlineData("no tag at all", "Error", "no tag at all")]
    [InlineData("[h264 @ 0x1] no level tag", "Error", "[h264 @ 0x1] no level tag")]
    public void Parse_Line_SplitsOffTheLevelTag(string line, string level, string text)
    {
        Assert.Equal(level, FfmpegLog.Parse(line, out var rest).ToString());
        Assert.Equal(text, rest);
    }

    [Fact]
    public void TryParseSizeChange_BufferSourceLineOfFfmpeg51_ReadsBothSizesAndTheTime()
    {
        FfmpegLog.Parse("[graph 0 input from stream 0:0 @ 0x55f6fccc3a40] [info] filter context - w: 768 h: 576 fmt: 0, incoming frame - w: 640 h: 360 fmt: 0 pts_time: 5.1", out var text);
        Assert.True(FfmpegLog.TryParseSizeChange(text, out var change));
        Assert.Equal(new FrameSizeChange(768, 576, 640, 360, 5.1), change);
    }

    [Fact]
    public void TryParseSizeChange_NewerLineWithColourFields_ReadsTheSizes()
    {
        const string Text = "[graph 0 input from stream 0:0 @ 0x1] filter context - w: 1920 h: 1080 fmt: 0 csp: bt709 range: tv, incoming frame - w: 1280 h: 720 fmt: 0 csp: bt709 range: tv pts_time: 3600.04";
        Assert.True(FfmpegLog.TryParseSizeChange(Text, out var change));
        Assert.Equal(new FrameSizeChange(1920, 1080, 1280, 720, 3600.04), change);
    }

    [Fact]
    public void TryParseSizeChange_FrameWithoutTime_ReadsTheSizesWithNoTime()
    {
        const string Text = "filter context - w: 768 h: 576 fmt: 0, incoming frame - w: 640 h: 360 fmt: 0 pts_time: NOPTS";
        Assert.True(FfmpegLog.TryParseSizeChange(Text, out var change));
        Assert.Equal(new FrameSizeChange(768, 576, 640, 360, null), change);
    }

    [Theory]
    [InlineData("[graph 0 input from stream 0:0 @ 0x1] Changing video frame properties on the fly is not supported by all filters.")]
    [InlineData("[mpegts @ 0x1] Packet corrupt (stream = 0, dts = 567000).")]
    [InlineData("[mpegts @ 0x1] DTS 126000 < 567000 out of order")]
    [InlineData("[h264 @ 0x1] Reinit context to 640x368, pix_fmt: yuv420p")]
    [InlineData("filter context - fmt: s16 r: 48000 layout: 3 ch: 2, incoming frame - fmt: fltp r: 44100 layout: 3 ch: 2 pts_time: 1")]
    [InlineData("filter context - w: 768 h: x, incoming frame - w: 640 h: 360")]
    public void TryParseSizeChange_AnyOtherLine_IsNoChange(string text) =>
        Assert.False(FfmpegLog.TryParseSizeChange(text, out _));
}
