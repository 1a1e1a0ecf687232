using System.Text.Json;
using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

public class AnalyzeWithConfigTests
{
    private static string SampleConfig => Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml");

    [Fact]
    public async Task Analyze_WithConfig_PrintsRuleEventsInsteadOfObjectEvents()
    {
        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", SampleConfig, "--max-frames", "120", "--events-only",
            "--no-face-detector");

        Assert.True(r.ExitCode == 0, r.StdErr);
        var events = r.Lines.Select(l => JsonDocument.Parse(l).RootElement).Where(l => l.GetProperty("type").GetString() == "event").ToList();
        Assert.DoesNotContain(events, e => e.GetProperty("kind").GetString()!.StartsWith("object.", StringComparison.Ordinal));
        // The first 12 s hold walkers crossing the lamp-post line; the run's end flushes a partial count.
        Assert.Contains(events, e => e.GetProperty("kind").GetString() == "line.crossed");
        var counts = Assert.Single(events, e => e.GetProperty("kind").GetString() == "line.counts");
        Assert.Equal("partial interval", counts.GetProperty("detail").GetString());
        Assert.All(events, e => Assert.False(e.TryGetProperty("track", out _), "rule events never carry a track id"));
        Assert.Contains("events:", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_BrokenConfig_ExitsTwoListingEveryProblemBeforeDecoding()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var path = Path.Combine(dir.Path, "broken.yaml");
        await File.WriteAllTextAsync(path, """
            cameras:
              - id: vtest
                resolution: [768, 576]
                zones:
                  - id: road
                    polygon: [[0, 0], [900, 0], [900, 100]]
                rules:
                  - {id: park, type: stationary-vehicle, zone: road, afer: 30s}
            """);

        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", path);

        Assert.Equal(2, r.ExitCode);
        Assert.Empty(r.Lines);
        Assert.Contains("broken.yaml:6:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("outside the 768x576 frame", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("broken.yaml:8:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("afer: unknown key", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_PpeRuleWithTheDefaultModel_RefusesToStart()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var path = Path.Combine(dir.Path, "site.yaml");
        await File.WriteAllTextAsync(path, """
            cameras:
              - id: vtest
                resolution: [768, 576]
                rules:
                  - {id: hardhats, type: ppe, require: [helmet]}
            """);

        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", path);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("cannot see protective equipment", r.StdErr, StringComparison.Ordinal);
        Assert.Empty(r.Lines);
    }

    [Fact]
    public async Task Analyze_CameraWithoutPurposeLegalBasisDepartmentOrRetention_RefusesToRunIt()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var path = Path.Combine(dir.Path, "nopurpose.yaml");
        await File.WriteAllTextAsync(path, """
            cameras:
              - id: vtest
                resolution: [768, 576]
                department: public-space
            """);

        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", path);

        Assert.Equal(2, r.ExitCode);
        Assert.Empty(r.Lines);
        Assert.Contains("nopurpose.yaml:2:", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("cameras[0].purpose", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("cameras[0].legal_basis", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("cameras[0].retention", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("cameras[0].department", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("purpose before power", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_UnknownCamera_ExitsTwoListingTheConfiguredOnes()
    {
        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", SampleConfig, "--camera", "gate-7");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Camera 'gate-7' is not in", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("vtest", r.StdErr, StringComparison.Ordinal);
        Assert.Empty(r.Lines);
    }

    [Fact]
    public async Task Analyze_MissingConfigFile_ExitsTwoNamingIt()
    {
        var r = await Civiclens.RunAsync("analyze", TestAssets.SampleVideo, "--config", "/nonexistent/cams.yaml");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/cams.yaml", r.StdErr, StringComparison.Ordinal);
    }
}
