using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// The scene-change rule on the real footage: a photographed object put down on the lawn, taken away again, the
/// light dropping while it lies there, the stream at another resolution, and the plain footage where people walk
/// through both zones and stand about while the scene is learned. No detector runs here, so walkers are not masked:
/// they must be ignored because they never hold still long enough (in the pipeline their boxes are masked too).
/// </summary>
public sealed class SceneChangeRuleFootageTests
{
    private const string Rules = """
        - {id: lawn-change, type: scene-change, zone: lawn, after: 10s, clear_after: 2s}
        - {id: plaza-change, type: scene-change, zone: plaza, after: 10s, clear_after: 2s}
        """;

    private static readonly BoxF ObjectBox = new(SceneClips.ObjectX, SceneClips.ObjectY, SceneClips.ObjectWidth, SceneClips.ObjectHeight);

    [Fact]
    public async Task Evaluate_ObjectPutDownOnLawn_StartsOnceAfterTheWaitWithABoxAroundIt()
    {
        using var dir = TestAssets.CreateTempDirectory();
        // Put down at 20 s and left there; at 54-58 s two people walk right over it.
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 20, until: null, seconds: 60);

        var events = await FootageReplay.RunAsync(clip, FootageReplay.Config(Rules));

        var changes = events.Where(e => e.Kind == "scene.change").ToList();
        var start = Assert.Single(changes, e => e.Phase == EventPhase.Start);
        Assert.Equal("lawn-change", start.Rule);
        Assert.Equal("lawn", start.Zone);
        Assert.Equal(start.Id, start.IncidentId);
        // Never before the 10 s wait is over; at most a second after it (the object settles within a frame or two).
        Assert.InRange(start.StreamTime.TotalSeconds, 30.0, 31.0);
        Assert.InRange(start.Duration!.Value.TotalSeconds, 10.0, 11.0);
        Assert.True(start.Box!.Value.IoU(ObjectBox) >= 0.6f, $"box {start.Box} should frame the object at {ObjectBox}");
        Assert.InRange(start.Confidence, 0.5f, 1f);
        // The walkers crossing it do not clear it; only the end of the file closes the condition.
        var end = Assert.Single(changes, e => e.Phase == EventPhase.End);
        Assert.Equal("stream ended or restarted", end.Detail);
        Assert.Equal(start.Id, end.IncidentId);
    }

    [Fact]
    public async Task Evaluate_ObjectTakenAwayAgain_EndsClearedWithHowLongItLay()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 20, until: 50, seconds: 56);

        var events = await FootageReplay.RunAsync(clip, FootageReplay.Config(Rules));

        var changes = events.Where(e => e.Kind == "scene.change").ToList();
        Assert.Equal([EventPhase.Start, EventPhase.End], changes.Select(e => e.Phase));
        var (start, end) = (changes[0], changes[1]);
        Assert.InRange(start.StreamTime.TotalSeconds, 30.0, 31.0);
        Assert.Equal("cleared", end.Detail);
        Assert.Equal(start.Id, end.IncidentId);
        Assert.NotEqual(start.Id, end.Id);
        Assert.InRange(end.StreamTime.TotalSeconds, 50.0, 54.0);
        // It lay there from 20 s to 50 s.
        Assert.InRange(end.Duration!.Value.TotalSeconds, 29.5, 32.0);
    }

    [Fact]
    public async Task Evaluate_TrackedObjectOverTheChange_IgnoredOnlyByRulesWhoseClassesIncludeIt()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 20, until: null, seconds: 36);
        // The detector sees the object as a suitcase from the moment it is put down.
        var suitcase = ModelLabels.Coco80.TryGetId("suitcase", out var id) ? id : throw new InvalidOperationException("no suitcase label");
        TrackedObject[] Tracks(TimeSpan t) => t < TimeSpan.FromSeconds(20) ? [] :
            [new TrackedObject(7, suitcase, ObjectBox, 0.8f, TrackState.Tracked, TimeSpan.FromSeconds(20), t, 10, 0, 0)];
        var config = FootageReplay.Config("""
            - {id: any-track, type: scene-change, zone: lawn, after: 10s}
            - {id: passers-by, type: scene-change, zone: lawn, after: 10s, classes: [person, bicycle, car]}
            """);

        var events = await FootageReplay.RunAsync(clip, config, tracks: Tracks);

        // Every track explains what it covers unless the rule names the classes that do: then a suitcase counts.
        var start = Assert.Single(events, e => e.Phase == EventPhase.Start);
        Assert.Equal("passers-by", start.Rule);
        Assert.InRange(start.StreamTime.TotalSeconds, 30.0, 31.0);
        Assert.DoesNotContain(events, e => e.Rule == "any-track");
    }

    [Fact]
    public async Task Evaluate_UnmodifiedFootage_NoSceneChangeThoughPeopleWalkAndStandInBothZones()
    {
        var learned = false;
        var busiest = 0f;
        var events = await FootageReplay.RunAsync(TestAssets.SampleVideo, FootageReplay.Config(Rules), observe: (engine, _, _) =>
        {
            var plaza = (SceneChangeRule)engine.Rules[1];
            learned |= plaza.Learned;
            busiest = Math.Max(busiest, plaza.LastDisturbance.Cells);
        });

        Assert.DoesNotContain(events, e => e.Kind == "scene.change");
        Assert.True(learned, "the plaza's background was never learned");
        // The rule did see people: at the busiest moment a good share of the plaza differed from its background.
        Assert.True(busiest > 0.02f, $"at most {busiest:P1} of the plaza ever differed: nobody walked through?");
    }

    [Fact]
    public async Task Evaluate_LightDropsWhileObjectLies_ReportsTheObjectAndNothingElse()
    {
        using var dir = TestAssets.CreateTempDirectory();
        // A cloud at 25 s darkens the whole view by 30 % (grass by ~30 grey levels, more than pixel_threshold).
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 20, until: null, seconds: 45, darkenFrom: 25);

        var events = await FootageReplay.RunAsync(clip, FootageReplay.Config(Rules, tamper: true));

        var start = Assert.Single(events, e => e.Phase == EventPhase.Start);
        Assert.Equal(("scene.change", "lawn-change"), (start.Kind, start.Rule));
        Assert.InRange(start.StreamTime.TotalSeconds, 30.0, 31.0);
        Assert.True(start.Box!.Value.IoU(ObjectBox) >= 0.6f, $"box {start.Box} should frame the object at {ObjectBox}");
        Assert.DoesNotContain(events, e => e.Detail == "cleared");
    }

    [Fact]
    public async Task Evaluate_StreamAtHalfTheConfiguredResolution_ScalesTheZoneAndReportsInStreamPixels()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 20, until: null, seconds: 36);

        // Zones are drawn for 768x576; the stream is decoded at 384x288.
        var events = await FootageReplay.RunAsync(clip, FootageReplay.Config(Rules), outputWidth: 384);

        var start = Assert.Single(events, e => e.Phase == EventPhase.Start);
        Assert.Equal("lawn-change", start.Rule);
        Assert.InRange(start.StreamTime.TotalSeconds, 30.0, 31.0);
        var half = new BoxF(ObjectBox.X / 2, ObjectBox.Y / 2, ObjectBox.Width / 2, ObjectBox.Height / 2);
        Assert.True(start.Box!.Value.IoU(half) >= 0.5f, $"box {start.Box} should frame the object at {half} in stream pixels");
    }
}
