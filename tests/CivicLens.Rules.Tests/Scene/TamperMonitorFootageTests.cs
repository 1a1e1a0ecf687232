using CivicLens.Domain.Frames;
using CivicLens.Media;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// Camera tampering on the real footage: the lens blacked out, the camera knocked 60 px aside, the focus lost, each
/// from 20 s to 35 s; and the plain footage, where people walking through must not count as tampering.
/// </summary>
public sealed class TamperMonitorFootageTests
{
    private const string SceneRules = """
        - {id: lawn-change, type: scene-change, zone: lawn, after: 10s}
        - {id: plaza-change, type: scene-change, zone: plaza, after: 10s}
        """;

    [Theory]
    [InlineData("covered")]
    [InlineData("moved")]
    [InlineData("defocused")]
    public async Task Process_ViewTamperedFor15Seconds_StartsAfterTamperAfterAndEndsWhenTheViewIsBack(string kind)
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = kind switch
        {
            "covered" => await SceneClips.CoveredAsync(dir.Path, 20, 35, seconds: 42),
            "moved" => await SceneClips.MovedAsync(dir.Path, 20, 35, seconds: 42),
            _ => await SceneClips.DefocusedAsync(dir.Path, 20, 35, seconds: 42),
        };

        // The engine runs the monitor (health.tamper, tamper_after 5s by default) next to two scene-change rules.
        var events = await FootageReplay.RunAsync(clip, FootageReplay.Config(SceneRules, tamper: true));

        var tamper = events.Where(e => e.Kind == "camera.tamper").ToList();
        Assert.Equal([EventPhase.Start, EventPhase.End], tamper.Select(e => e.Phase));
        var (start, end) = (tamper[0], tamper[1]);
        Assert.Equal((kind, kind), (start.Detail, end.Detail));
        Assert.Equal(("vtest", "health", "camera-tamper"), (start.Camera, start.Rule, start.Category));
        Assert.Equal(start.Id, start.IncidentId);
        Assert.Equal(start.Id, end.IncidentId);
        // Reported once it has lasted tamper_after (5 s), not before.
        Assert.InRange(start.StreamTime.TotalSeconds, 25.0, 25.5);
        Assert.InRange(start.Duration!.Value.TotalSeconds, 5.0, 5.5);
        // Ends once the view has matched again for a while; it lasted 15 s.
        Assert.InRange(end.StreamTime.TotalSeconds, 35.0, 38.5);
        Assert.InRange(end.Duration!.Value.TotalSeconds, 14.8, 16.5);
        // A tampered view is no scene change: the zones' rules hold still meanwhile.
        Assert.DoesNotContain(events, e => e.Kind == "scene.change");
    }

    [Fact]
    public async Task Process_UnmodifiedFootage_NoTamperThoughPeopleWalkThrough()
    {
        var monitor = new TamperMonitor("vtest", new HealthConfig());
        var tamperEvents = new List<RuleEvent>();
        var lowestAlignment = 1f;
        await FootageReplay.RunAsync(TestAssets.SampleVideo, FootageReplay.Config(SceneRules), observe: (_, frame, _) =>
        {
            monitor.Process(frame, tamperEvents);
            if (monitor.Learned) lowestAlignment = MathF.Min(lowestAlignment, monitor.LastMeasures.Alignment);
        });

        Assert.True(monitor.Learned, "no reference view was learned from the footage");
        Assert.Empty(tamperEvents);
        // People crossing the plaza do move the edge map, just never far.
        Assert.InRange(lowestAlignment, 0.55f, 0.99f);
    }

    [Fact]
    public async Task Complete_StreamEndsWhileCovered_EndsTheOpenConditionAndLearnsAfresh()
    {
        var monitor = new TamperMonitor("vtest", new HealthConfig { TamperAfter = TimeSpan.FromSeconds(2) });
        var events = new List<RuleEvent>();
        var input = new RuleFrame { Detected = true };
        // 6 s of the real view (the reference is learnt from its first 3 s) ...
        await using (var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "vtest", Uri = TestAssets.SampleVideo, SampleFps = 5, PoolCapacity = 4 },
            TimeProvider.System, NullLoggerFactory.Instance))
        {
            for (var k = 0; k < 30 && await source.ReadAsync(CancellationToken.None) is { } frame; k++)
            {
                input.Frame = frame;
                input.StreamTime = frame.StreamTime;
                monitor.Process(input, events);
                frame.Release();
            }
        }

        // ... then 4 s of a blacked-out lens, and the file ends.
        var black = Frame.CreateDetached(768, 576);
        for (var k = 0; k < 20; k++)
        {
            input.Frame = black;
            input.StreamTime = TimeSpan.FromSeconds(6 + k * 0.2);
            monitor.Process(input, events);
        }

        var start = Assert.Single(events);
        Assert.Equal((EventPhase.Start, "covered"), (start.Phase, start.Detail));
        Assert.Equal(TimeSpan.FromSeconds(8), start.StreamTime);

        monitor.Complete(input, events);

        Assert.Equal(2, events.Count);
        Assert.Equal((EventPhase.End, "covered", start.Id), (events[1].Phase, events[1].Detail, events[1].IncidentId));
        Assert.Equal(TimeSpan.FromSeconds(3.8), events[1].Duration);
        Assert.Equal(TamperKind.None, monitor.Open);
        Assert.False(monitor.Learned);
    }
}
