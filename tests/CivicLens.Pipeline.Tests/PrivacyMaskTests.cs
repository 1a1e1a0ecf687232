using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Pipeline.Tests;

/// <summary>A camera's privacy mask is blacked out before detection: nothing behind it is ever analysed or stored.</summary>
public sealed class PrivacyMaskTests
{
    [Fact]
    public async Task Analyze_MaskOverTheParkedVehicles_TheyAreNeverDetectedNorReported()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var config = Path.Combine(dir.Path, "masked.yaml");
        await File.WriteAllTextAsync(config, """
            cameras:
              - id: vtest
                resolution: [768, 576]
                purpose: Test of privacy masks
                legal_basis: Test
                department: public-space
                retention: 1d
                privacy_masks:
                  - id: private-driveway
                    polygon: [[600, 20], [768, 20], [768, 130], [600, 130]]
                zones:
                  - id: service-road
                    polygon: [[600, 40], [768, 40], [768, 120], [690, 122], [610, 110]]
                rules:
                  - {id: parking, type: stationary-vehicle, zone: service-road, after: 5s}
            """);
        var output = new LineStream();

        await AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = TestAssets.SampleVideo,
            ConfigPath = config,
            ModelsDirectory = TestAssets.ModelsDirectory,
            UseFaceDetector = false,
            MaxFrames = 100,
        }, output, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);

        // Unmasked, the van and the car are tracked from the first frames and reported after 5 s (RulesOnFootageTests).
        Assert.Contains(output.Lines, l => l.GetProperty("type").GetString() == "track" && l.GetProperty("label").GetString() == "person");
        Assert.DoesNotContain(output.Lines, l => l.GetProperty("type").GetString() == "track" && l.GetProperty("label").GetString() is "truck" or "car");
        Assert.Empty(output.Events("vehicle.stationary"));
    }
}
