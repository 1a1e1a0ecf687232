using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Scene;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// Fix verification on the real footage: the object lies on the lawn from 20 s to 50 s. The scene-change rule's
/// incident patch (taken when it reported the object) and an operator's capture of the reported spot are compared
/// with frames where it is still there (45 s) and where it has gone (53 s).
/// </summary>
public sealed class ZoneSnapshotComparerTests(ZoneSnapshotComparerTests.ObjectOnLawn footage) : IClassFixture<ZoneSnapshotComparerTests.ObjectOnLawn>
{
    private const double StillThere = 45;
    private const double TakenAway = 53;
    private const double Reported = 35;

    [Fact]
    public void Compare_IncidentPatchWhileObjectStillThere_Present()
    {
        var result = footage.Comparer.Compare(footage.Incident, footage.Frames[StillThere]);

        Assert.Equal(ZoneVerdict.Present, result.Verdict);
        Assert.True(result.PresentFraction > 0.8f, $"only {result.PresentFraction:P0} of the object's cells still match");
        Assert.Equal(1f, result.VisibleFraction);
    }

    [Fact]
    public void Compare_IncidentPatchAfterObjectTakenAway_Gone()
    {
        var result = footage.Comparer.Compare(footage.Incident, footage.Frames[TakenAway]);

        Assert.Equal(ZoneVerdict.Gone, result.Verdict);
        Assert.True(result.GoneFraction > 0.8f, $"only {result.GoneFraction:P0} of the object's cells show the lawn again");
    }

    [Theory]
    [InlineData(StillThere)]
    [InlineData(TakenAway)]
    public void Compare_TrackedPeopleStandingInFrontOfTheSpot_Uncertain(double at)
    {
        // Two tracked people right in front of where the object lies (or lay).
        BoxF[] people = [new(185, 360, 45, 125), new(225, 365, 45, 120)];

        var result = footage.Comparer.Compare(footage.Incident, footage.Frames[at], people);

        Assert.Equal(ZoneVerdict.Uncertain, result.Verdict);
        Assert.True(result.VisibleFraction < 0.5f, $"{result.VisibleFraction:P0} of the object still counted as visible");
    }

    [Theory]
    [InlineData(StillThere, ZoneVerdict.Present)]
    [InlineData(TakenAway, ZoneVerdict.Gone)]
    public void Compare_WholeViewThirtyPercentDarker_SameVerdict(double at, ZoneVerdict expected)
    {
        var darker = Darker(footage.Frames[at], 0.7f);

        var result = footage.Comparer.Compare(footage.Incident, darker);

        Assert.Equal(expected, result.Verdict);
    }

    [Fact]
    public void Capture_OperatorDrawsTheReportedSpot_TellsPresentFromGone()
    {
        // A citizen's report: no learned background, just the spot as it looked and a box drawn around the object.
        var reported = footage.Comparer.Capture(footage.Frames[Reported], region: footage.IncidentBox, streamTime: TimeSpan.FromSeconds(Reported));

        Assert.False(reported.HasClean);
        Assert.Equal(ZoneVerdict.Present, footage.Comparer.Compare(reported, footage.Frames[StillThere]).Verdict);
        Assert.Equal(ZoneVerdict.Gone, footage.Comparer.Compare(reported, footage.Frames[TakenAway]).Verdict);
    }

    [Fact]
    public void Compare_PatchOfAnotherZone_Throws()
    {
        var plaza = new Polygon([new(0, 176), new(768, 120), new(768, 492), new(0, 242)]);
        var other = new ZoneSnapshotComparer(plaza, 768, 576);

        Assert.Throws<ArgumentException>(() => other.Compare(footage.Incident, footage.Frames[StillThere]));
    }

    private static Frame Darker(Frame frame, float factor)
    {
        var copy = Frame.CreateDetached(frame.Width, frame.Height);
        for (var i = 0; i < frame.Pixels.Length; i++) copy.Pixels[i] = (byte)(frame.Pixels[i] * factor);
        return copy;
    }

    /// <summary>Plays the clip once through the lawn rule and keeps its incident patch and a few frames.</summary>
    public sealed class ObjectOnLawn : IAsyncLifetime
    {
        private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();

        public ZonePatch Incident { get; private set; } = null!;

        public BoxF IncidentBox { get; private set; }

        public ZoneSnapshotComparer Comparer { get; private set; } = null!;

        public Dictionary<double, Frame> Frames { get; } = [];

        public async Task InitializeAsync()
        {
            var clip = await SceneClips.ObjectDroppedAsync(_dir.Path, from: 20, until: 50, seconds: 54);
            var config = FootageReplay.Config("- {id: lawn-change, type: scene-change, zone: lawn, after: 10s}");
            var events = await FootageReplay.RunAsync(clip, config, observe: (engine, frame, events) =>
            {
                var rule = (SceneChangeRule)engine.Rules[0];
                if (Incident is null && events.Count > 0 && events[^1] is { Kind: "scene.change", Phase: EventPhase.Start } start)
                {
                    Incident = rule.CaptureIncident() ?? throw new InvalidOperationException("no patch while an incident is open");
                    IncidentBox = start.Box!.Value;
                    Comparer = rule.CreateComparer();
                }

                var t = frame.StreamTime.TotalSeconds;
                if (Math.Abs(t - Math.Round(t)) > 0.01 || Math.Round(t) is not (Reported or StillThere or TakenAway)) return;
                var copy = Frame.CreateDetached(frame.Frame!.Width, frame.Frame.Height);
                frame.Frame.Pixels.CopyTo(copy.Pixels, 0);
                Frames[Math.Round(t)] = copy;
            });
            if (Incident is null) throw new InvalidOperationException($"the rule never reported the object ({events.Count} events)");
        }

        public Task DisposeAsync()
        {
            _dir.Dispose();
            return Task.CompletedTask;
        }
    }
}
