using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Pipeline.Tests;

/// <summary>
/// Camera health as events, end to end: a real RTSP camera (gst-rtsp-server) feeds <c>analyze --config</c>; the test
/// kills it (camera.offline, then camera.online with the outage's duration once it is back) and covers its lens
/// (camera.tamper "covered", ended when uncovered).
/// </summary>
public sealed class RulesOnRtspCameraTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private const string Config = """
        cameras:
          - id: gate-cam
            resolution: [320, 240]
            purpose: Gate safety (test)
            legal_basis: Test
            department: public-space
            retention: 1d
            zones:
              - id: all
                polygon: [[0, 0], [320, 0], [320, 240], [0, 240]]
            rules:
              - {id: people, type: occupancy, zone: all, threshold: 50}
            health:
              offline_after: 3s
              tamper_after: 2s
        """;

    [Fact]
    public async Task Analyze_CameraKilledRestartedAndCovered_OfflineOnlineAndTamperEvents()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var configPath = Path.Combine(dir.Path, "cams.yaml");
        await File.WriteAllTextAsync(configPath, Config);
        await using var camera = await RtspCamera.StartAsync(TestAssets.SampleVideo);
        var output = new LineStream();
        using var stop = new CancellationTokenSource();
        var run = AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = camera.Url(),
            ConfigPath = configPath,
            ModelsDirectory = TestAssets.ModelsDirectory,
            SampleFps = 5,
            UseFaceDetector = false,
            WriteTracks = false,
        }, output, NullLoggerFactory.Instance, TimeProvider.System, stop.Token);
        try
        {
            // Let the tamper reference settle on the real view first.
            await Eventually.TrueAsync(() => output.Lines.Any(l => l.GetProperty("type").GetString() == "health" && l.GetProperty("state").GetString() == "streaming"),
                Bound, "the camera streaming");
            await Task.Delay(TimeSpan.FromSeconds(6));

            await camera.KillAsync();
            await Eventually.TrueAsync(() => output.Events("camera.offline").Count == 1, Bound, "camera.offline after the camera died");
            await Task.Delay(TimeSpan.FromSeconds(2));
            await camera.RestartAsync();
            await Eventually.TrueAsync(() => output.Events("camera.online").Count == 1, Bound, "camera.online after the camera came back");

            var offline = output.Events("camera.offline")[0];
            var online = output.Events("camera.online")[0];
            Assert.Equal(offline.GetProperty("id").GetString(), online.GetProperty("incident").GetString());
            Assert.InRange(online.GetProperty("duration").GetDouble(), 3, 40);

            await Task.Delay(TimeSpan.FromSeconds(6));
            await camera.CoverLensAsync();
            await Eventually.TrueAsync(() => output.Events("camera.tamper").Count >= 1, Bound, "camera.tamper after the lens was covered");
            var tamper = output.Events("camera.tamper")[0];
            Assert.Equal("start", tamper.GetProperty("phase").GetString());
            Assert.Equal("covered", tamper.GetProperty("detail").GetString());

            await camera.UncoverLensAsync();
            await Eventually.TrueAsync(() => output.Events("camera.tamper").Count >= 2, Bound, "the tamper condition ending once uncovered");
            Assert.Equal("end", output.Events("camera.tamper")[1].GetProperty("phase").GetString());
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
        }

        // A covered lens is not an outage, and a restart that came back is not a failure.
        Assert.Single(output.Events("camera.offline"));
    }
}
