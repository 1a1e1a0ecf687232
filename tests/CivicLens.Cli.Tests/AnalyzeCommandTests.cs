using System.Text.Json;
using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

public class AnalyzeCommandTests
{
    [Fact]
    public async Task Analyze_SampleFootage_PrintsJsonLinesAndSummary()
    {
        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--max-frames", "40");

        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.Lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var types = lines.Select(l => l.GetProperty("type").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "health", "track", "event" }, types);
        var people = lines.Where(l => l.GetProperty("type").GetString() == "track" && l.GetProperty("label").GetString() == "person")
            .Select(l => l.GetProperty("track").GetInt64()).Distinct().Count();
        Assert.InRange(people, 3, 20);
        Assert.Contains("analysed 40 frames", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_EventsOnly_PrintsNoTrackLines()
    {
        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--max-frames", "20", "--events-only");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.NotEmpty(r.Lines);
        Assert.DoesNotContain(r.Lines, l => l.Contains("\"type\":\"track\"", StringComparison.Ordinal));
        Assert.Contains(r.Lines, l => l.Contains("\"kind\":\"object.appeared\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Analyze_MissingFile_ExitsOneNamingTheFile()
    {
        var r = await Civiclens.RunAsync("analyze", "/nonexistent/cam-7.mp4");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/cam-7.mp4", r.StdErr, StringComparison.Ordinal);
        Assert.Empty(r.Lines);
    }

    [Fact]
    public async Task Analyze_NotAVideo_ExitsOneWithClearError()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var text = Path.Combine(dir.Path, "notes.mp4");
        await File.WriteAllTextAsync(text, "this is not a video\n");

        var r = await Civiclens.RunAsync("analyze", text);

        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error:", r.StdErr.Trim().Split('\n')[^1], StringComparison.Ordinal);
        Assert.Contains("notes.mp4", r.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://example.org/cam")]
    [InlineData("rtsp://")]
    public async Task Analyze_BadUrl_ExitsOneWithClearError(string url)
    {
        var r = await Civiclens.RunAsync("analyze", url);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error:", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_SnapshotFolderUnderAFile_ExitsOneBeforeAnalysing()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var file = Path.Combine(dir.Path, "plain-file");
        await File.WriteAllTextAsync(file, "x");

        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--max-frames", "20", "--snapshot", Path.Combine(file, "snaps"));

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("snaps", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(r.Lines, l => l.Contains("\"type\":\"track\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Analyze_CorruptModel_ExitsOneNamingTheModel()
    {
        using var dir = Civiclens.CopyOfInstalledModels();

        var model = Path.Combine(dir.Path, "nanodet-g-416.onnx");
        var bytes = await File.ReadAllBytesAsync(model);
        await File.WriteAllBytesAsync(model, bytes.AsSpan(0, bytes.Length / 3).ToArray()); // truncated copy

        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--max-frames", "5", "--models", dir.Path);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nanodet-g-416", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain(r.Lines, l => l.Contains("\"type\":\"track\"", StringComparison.Ordinal));
    }
}
