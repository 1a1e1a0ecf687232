using CivicLens.District.Cameras;

namespace CivicLens.District.Tests;

public sealed class CameraRowValidatorTests
{
    [Theory]
    [InlineData("rtsp://cam1.city.example/live")]
    [InlineData("RTSP://cam1.city.example")]
    [InlineData("rtsps://operator:p@ss@10.0.0.5:322/stream1")]
    [InlineData("rtsp://${CAM_USER}:${CAM_PASSWORD}@cam1.city.example:554/live")]
    [InlineData("rtsp://[fe80::1]:554/live")]
    [InlineData("http://cam1.city.example:8080/video.mjpg")]
    [InlineData("https://cam1.city.example/hls/live.m3u8?token=abc")]
    [InlineData("https://cam1.city.example")]
    [InlineData("/srv/footage/high-st.mp4")]
    [InlineData("/srv/footage/HIGH-ST.MKV")]
    [InlineData("${CIVICLENS_HOME}/samples/vtest.avi")]
    [InlineData("/srv/a.mov")]
    [InlineData("/srv/a.ts")]
    [InlineData("/srv/a.m4v")]
    [InlineData("/srv/a.webm")]
    public void IsVideoSource_StreamOrVideoFile_IsAccepted(string source) => Assert.True(CameraRowValidator.IsVideoSource(source));

    [Theory]
    [InlineData("")]
    [InlineData("camera")]
    [InlineData("ftp://files.city.example/a.mp4")]
    [InlineData("mailto:cctv@city.example")]
    [InlineData("srt://cam1.city.example:9000")]
    [InlineData("udp://239.0.0.1:1234")]
    [InlineData("file:///srv/a.mp4")]
    [InlineData("rtsp://")]
    [InlineData("rtsp:///live")]
    [InlineData("rtsp://user:pw@/live")]
    [InlineData("http://cam1.city.example:99999/")]
    [InlineData("http://cam1.city.example/index.html")]
    [InlineData("https://cam1.city.example/snapshot.JPG?x=1")]
    [InlineData("https://cam1.city.example/a.png")]
    [InlineData("http://cam one.example/live")]
    [InlineData("/srv/stills/a.jpg")]
    [InlineData("/srv/footage/")]
    [InlineData("/srv/footage/.mp4")]
    [InlineData("footage/a.mp4")]
    [InlineData("${HOME}/a.mp4")]
    [InlineData("${CIVICLENS_HOME}/${X}.mp4")]
    [InlineData("C:\\footage\\a.mp4")]
    public void IsVideoSource_AnythingElse_IsRefused(string source) => Assert.False(CameraRowValidator.IsVideoSource(source));

    [Theory]
    [InlineData("a", true)]
    [InlineData("Cam_01.north-2", true)]
    [InlineData("9", true)]
    [InlineData("_a", false)]
    [InlineData(".a", false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    [InlineData("é", false)]
    [InlineData("", false)]
    public void IsValidId_Pattern_Matches(string id, bool valid) => Assert.Equal(valid, CameraRowValidator.IsValidId(id));

    [Fact]
    public void IsValidId_SixtyFiveCharacters_IsRefused()
    {
        Assert.True(CameraRowValidator.IsValidId(new string('a', 64)));
        Assert.False(CameraRowValidator.IsValidId(new string('a', 65)));
    }

    [Fact]
    public void Validate_RowBuiltElsewhere_ReportsEachFieldByItsDocumentedName()
    {
        var row = new CameraRow("cam 1", 0, 0) { Row = 7, Heading = -1, Source = "ftp://admin:hunter2@x/a.mp4", Enabled = true, Purpose = "counting" };

        var problems = CameraRowValidator.Validate(row);

        Assert.Equal(["id", "latitude", "heading", "source", "enabled"], problems.Select(p => p.Field));
        Assert.All(problems, p => Assert.Equal(7, p.Row));
        Assert.All(problems, p => Assert.DoesNotContain("hunter2", p.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_GoodRow_HasNoProblem()
    {
        var row = new CameraRow("cam-1", 53.8, -1.5) { Source = "rtsp://cam/live", Purpose = "counting", LegalBasis = "GDPR 6(1)(e)", Department = "highways", RetentionDays = 30, Enabled = true };

        Assert.Empty(CameraRowValidator.Validate(row));
    }

    [Fact]
    public void CameraRow_ToString_HidesTheSource()
    {
        var row = new CameraRow("cam-1", 53.8, -1.5) { Source = "rtsp://admin:hunter2@10.0.0.5/live", Name = "High St" };

        var text = row.ToString();

        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.5", text, StringComparison.Ordinal);
        Assert.Contains("Source = (hidden)", text, StringComparison.Ordinal);
        Assert.Contains("Name = High St", text, StringComparison.Ordinal);
        Assert.Contains("Source = (none)", (row with { Source = null }).ToString(), StringComparison.Ordinal);
    }
}
