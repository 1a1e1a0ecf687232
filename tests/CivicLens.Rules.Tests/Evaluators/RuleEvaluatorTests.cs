using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Engine;
using static CivicLens.Rules.Tests.Evaluators.RuleHarness;

namespace CivicLens.Rules.Tests.Evaluators;

public class RuleEvaluatorTests
{
    private const string Scene = """
        signals:
          - id: light
            cycle: 60s
            red:
              - {from: 0s, to: 30s}
        cameras:
          - id: cam1
            resolution: [640, 480]
            zones:
              - id: square
                polygon: [[100, 100], [300, 100], [300, 300], [100, 300]]
              - id: road
                polygon: [[320, 100], [620, 100], [620, 300], [320, 300]]
            lines:
              - id: gate
                from: [200, 0]
                to: [200, 480]
                in_point: [400, 240]
            rules:
        """;

    private static RuleHarness With(string rules) =>
        new(Scene + "\n" + string.Join("\n", rules.Split('\n').Select(l => "    " + l)));

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void ZoneEntry_PersonWalksIn_OneEntryAfterSettle()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");

        // Walks from x=50 (outside) to x=250 (inside) at 40 px/s, then stays.
        h.Run(S(8), t => [Person(1, MathF.Min(50 + 40 * (float)t.TotalSeconds, 250), 200)]);

        var e = Assert.Single(h.Events);
        Assert.Equal("zone.entry", e.Kind);
        Assert.Equal(EventPhase.Instant, e.Phase);
        Assert.Equal("person", e.Label);
        // Feet cross x=100 at 1.25 s; the entry counts after 0.5 s inside.
        Assert.InRange(e.StreamTime.TotalSeconds, 1.7, 1.9);
    }

    [Fact]
    public void ZoneEntry_EnteredThenWobblingOnTheEdge_CountsOnce()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");

        h.Run(S(10), t => [Person(1, t < S(2) ? 150 : (int)(t.TotalSeconds * 10) % 4 == 0 ? 98 : 104, 200)]);

        Assert.Single(h.Events);
    }

    [Fact]
    public void ZoneEntry_WalkingAlongTheBorderWithFeetJitteringOverIt_IsNoEntry()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");

        // Walks down the zone's left edge (x=100); box bottoms jitter 3 px either side, with a one-frame spike inside.
        h.Run(S(10), t =>
        {
            var frame = (int)Math.Round(t.TotalSeconds * 10);
            var x = frame == 40 ? 115 : 100 + (frame % 2 == 0 ? 3 : -3);
            return [Person(1, x, 120 + 15 * (float)t.TotalSeconds)];
        });

        Assert.Empty(h.Events);
    }

    [Fact]
    public void ZoneEntry_LeavesAndComesBack_IsASecondEntry()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");

        h.Run(S(12), t => [Person(1, t < S(3) || t > S(7) ? 150 : 50, 200)]);

        Assert.Equal(2, h.Events.Count(e => e.Kind == "zone.entry"));
    }

    [Fact]
    public void ZoneEntry_DwellOnVehicle_StartsAfterDwellAndEndsWhenItLeaves()
    {
        var h = With("- {id: dwell, type: zone-entry, zone: square, classes: [car], dwell: 10s}");

        h.Run(S(30), t => [Track(7, "car", t < S(20) ? 150 : 400, 150, 80, 50)]);

        Assert.Collection(h.Events,
            start =>
            {
                Assert.Equal((EventPhase.Start, "zone.dwell"), (start.Phase, start.Kind));
                Assert.InRange(start.StreamTime.TotalSeconds, 10.4, 10.6);
            },
            end =>
            {
                Assert.Equal(EventPhase.End, end.Phase);
                Assert.Equal(h.Events[0].Id, end.IncidentId);
                Assert.InRange(end.Duration!.Value.TotalSeconds, 19.8, 20.0);
            });
    }

    [Fact]
    public void Stationary_ParkedVehicleOccludedAndReTracked_KeepsOneTimer()
    {
        var h = With("- {id: park, type: stationary-vehicle, zone: road, after: 60s}");

        // Parked van; pedestrians hide it from 20 to 28 s; the tracker then gives it a new id.
        h.Run(S(90), t =>
            t >= S(20) && t < S(28) ? [] : [Track(t < S(20) ? 3 : 9, "truck", 400, 150, 90, 60, score: 0.42f)]);

        var start = Assert.Single(h.Events);
        Assert.Equal(("vehicle.stationary", EventPhase.Start), (start.Kind, start.Phase));
        Assert.InRange(start.StreamTime.TotalSeconds, 59.9, 60.2);
        Assert.Equal("truck", start.Label);
    }

    [Fact]
    public void Stationary_VehicleDrivingThrough_NeverFires()
    {
        var h = With("- {id: park, type: stationary-vehicle, zone: road, after: 5s}");

        // Crawls through the zone at 15 px/s: in it for 20 s but never still.
        h.Run(S(20), t => [Track(4, "car", 320 + 15 * (float)t.TotalSeconds, 150, 60, 40)]);

        Assert.Empty(h.Events);
    }

    [Fact]
    public void Stationary_VehicleLeaves_EndsAfterGraceWithTimeItStood()
    {
        var h = With("- {id: park, type: stationary-vehicle, zone: road, after: 10s, occlusion_grace: 5s}");

        h.Run(S(40), t => t < S(25) ? [Track(3, "car", 400, 150, 80, 50)] : []);

        Assert.Equal([EventPhase.Start, EventPhase.End], h.Events.Select(e => e.Phase));
        var end = h.Events[1];
        Assert.InRange(end.StreamTime.TotalSeconds, 29.9, 30.2);
        Assert.InRange(end.Duration!.Value.TotalSeconds, 24.8, 25.0);
        Assert.Equal("vehicle gone", end.Detail);
    }

    [Fact]
    public void Stationary_StillSceneSkippedByMotionGate_DoesNotExpireTheTimer()
    {
        var h = With("- {id: park, type: stationary-vehicle, zone: road, after: 30s, occlusion_grace: 5s}");

        while (h.Time < S(40))
        {
            // The detector runs once every 10 s; in between the motion gate finds the scene still.
            var detect = (int)Math.Round(h.Time.TotalSeconds * 10) % 100 == 0;
            h.Step(detect, [Track(3, "car", 400, 150, 80, 50)], []);
        }

        Assert.Equal("vehicle.stationary", Assert.Single(h.Events).Kind);
    }

    [Fact]
    public void Occupancy_CrowdBuildsAndDisperses_StartPeakAndEnd()
    {
        var h = With("- {id: crowd, type: occupancy, zone: square, threshold: 4, for: 3s, clear_after: 2s}");

        // 2 people, then 5 from 10 s, 7 from 25 s, back to 2 from 40 s.
        h.Run(S(50), t =>
        {
            var n = t < S(10) ? 2 : t < S(25) ? 5 : t < S(40) ? 7 : 2;
            return Enumerable.Range(1, n).Select(i => Person(i, 110 + i * 20, 200)).ToArray();
        });

        var start = h.Events.Single(e => e.Phase == EventPhase.Start);
        Assert.InRange(start.StreamTime.TotalSeconds, 12.9, 13.1);
        Assert.Equal(5, start.Count);
        var update = h.Events.Single(e => e.Phase == EventPhase.Update);
        Assert.Equal(7, update.Count);
        var end = h.Events.Single(e => e.Phase == EventPhase.End);
        Assert.InRange(end.StreamTime.TotalSeconds, 41.9, 42.1);
        Assert.Equal(start.Id, end.IncidentId);
        Assert.InRange(end.Duration!.Value.TotalSeconds, 29.9, 30.1);
    }

    [Fact]
    public void Occupancy_OneMissedDetection_DoesNotRestartTheTimer()
    {
        var h = With("- {id: crowd, type: occupancy, zone: square, threshold: 3, for: 5s}");

        h.Run(S(8), t =>
        {
            var n = Math.Abs(t.TotalSeconds - 3) < 0.05 ? 2 : 3;
            return Enumerable.Range(1, n).Select(i => Person(i, 150 + i * 20, 200)).ToArray();
        });

        Assert.InRange(Assert.Single(h.Events).StreamTime.TotalSeconds, 4.9, 5.1);
    }

    [Fact]
    public void LineCrossing_BothDirections_EachCountedWithDirection()
    {
        var h = With("- {id: flow, type: line-crossing, line: gate, interval: 10s}");

        // Person 1 walks east across x=200, person 2 west, person 3 stays on the line, jittering.
        h.Run(S(10), t =>
        {
            var s = (float)t.TotalSeconds;
            return [Person(1, 100 + 20 * s, 240), Person(2, 300 - 20 * s, 300), Person(3, 200 + ((int)(s * 10) % 2 == 0 ? 3 : -3), 100)];
        });
        h.Step();

        var crossed = h.Events.Where(e => e.Kind == "line.crossed").ToList();
        Assert.Equal(2, crossed.Count);
        Assert.Single(crossed, e => e.Direction == "in");
        Assert.Single(crossed, e => e.Direction == "out");
        var counts = h.Events.Single(e => e.Kind == "line.counts");
        Assert.Equal(1, counts.Counts!["person.in"]);
        Assert.Equal(1, counts.Counts!["person.out"]);
        Assert.Equal(TimeSpan.Zero, counts.IntervalStart);
    }

    [Fact]
    public void LineCrossing_PassingBeyondTheSegmentEnds_IsNotACrossing()
    {
        var g = new RuleHarness(Scene.Replace("from: [200, 0]", "from: [200, 200]").Replace("to: [200, 480]", "to: [200, 300]") +
            "\n    - {id: flow, type: line-crossing, line: gate}");
        g.Run(S(10), t => [Person(1, 100 + 20 * (float)t.TotalSeconds, 450)]);

        Assert.DoesNotContain(g.Events, e => e.Kind == "line.crossed");
    }

    [Fact]
    public void LineCrossing_DirectionIn_IgnoresOutgoing()
    {
        var h = With("- {id: flow, type: line-crossing, line: gate, direction: in}");

        h.Run(S(10), t => [Person(1, 300 - 20 * (float)t.TotalSeconds, 240)]);

        Assert.DoesNotContain(h.Events, e => e.Kind == "line.crossed");
    }

    [Fact]
    public void RedCrossing_OnlyDuringRedAfterGrace()
    {
        // Red 0-30 s of each 60 s cycle. One person is in the crosswalk at 10 s (red), another at 40 s (green).
        var h = With("- {id: red, type: red-crossing, zone: square, signal: light}");

        h.Run(S(50), t => t > S(10) && t < S(15) ? [Person(1, 200, 200)] : t > S(40) && t < S(45) ? [Person(2, 200, 200)] : []);

        var e = Assert.Single(h.Events);
        Assert.Equal("crossing.red", e.Kind);
        Assert.InRange(e.StreamTime.TotalSeconds, 11, 11.3);
    }

    [Fact]
    public void RedCrossing_ExternalSignalGoesSilent_ReportsDegradedAndJudgesNothing()
    {
        var h = new RuleHarness(Scene.Replace("""
              - id: light
                cycle: 60s
                red:
                  - {from: 0s, to: 30s}
            """, """
              - id: light
                external: true
                max_age: 2s
            """) + "\n    - {id: red, type: red-crossing, zone: square, signal: light, red_grace: 0s}");

        h.Signals.Set("light", SignalState.Red, Epoch);
        h.Run(S(10), t =>
        {
            if (t < S(1)) h.Signals.Set("light", SignalState.Red, Epoch + t);
            return t > S(5) ? [Person(1, 200, 200)] : [];
        });

        var degraded = Assert.Single(h.Events);
        Assert.Equal(("rules.degraded", EventPhase.Start), (degraded.Kind, degraded.Phase));
        Assert.Contains("signal 'light'", degraded.Detail);
        Assert.InRange(degraded.StreamTime.TotalSeconds, 2.9, 3.1);

        h.Signals.Set("light", SignalState.Green, Epoch + h.Time);
        var recovered = h.Step(Person(1, 200, 200));
        Assert.Equal(EventPhase.End, Assert.Single(recovered).Phase);
    }

    [Fact]
    public void Ppe_PersonWithoutHelmet_ReportedWithModelThatHasTheLabels()
    {
        var labels = new ModelLabels(["person", "helmet", "vest"]);
        var h = new RuleHarness(Scene + "\n    - {id: ppe, type: ppe, zone: square, require: [helmet, vest], for: 2s}", labels);
        var person = new TrackedObject(1, 0, new BoxF(150, 120, 40, 120), 0.9f, TrackState.Tracked, TimeSpan.Zero, TimeSpan.Zero, 5, 0, 0);
        var worker = person with { TrackId = 2, Box = new BoxF(220, 120, 40, 120) };
        var helmet = new Detection(new BoxF(225, 115, 30, 20), 1, 0.8f);
        var vest1 = new Detection(new BoxF(152, 160, 36, 50), 2, 0.8f);
        var vest2 = new Detection(new BoxF(222, 160, 36, 50), 2, 0.8f);

        while (h.Time < S(5)) h.Step(true, [person, worker], [helmet, vest1, vest2]);

        var e = Assert.Single(h.Events);
        Assert.Equal(("ppe.missing", "helmet"), (e.Kind, e.Detail));
        Assert.Equal(150, e.Box!.Value.X);
    }

    [Fact]
    public void Schedule_OutsideTheWindow_RuleIsQuiet()
    {
        // The harness clock starts Monday 23 Nov 2026 10:00 UTC.
        var h = With("""
            - id: entry
              type: zone-entry
              zone: square
              classes: [person]
              schedule:
                - {days: [sat, sun], from: "08:00", to: "18:00"}
            """);

        h.Run(S(5), _ => [Person(1, 200, 200)]);

        Assert.Empty(h.Events);
    }

    [Fact]
    public void Cooldown_SecondEntryWithinCooldown_IsSuppressed()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person], cooldown: 30s}");

        h.Run(S(20), t => t < S(10) ? [Person(1, 200, 200)] : [Person(1, 200, 200), Person(2, 250, 250)]);

        Assert.Single(h.Events);
    }

    [Fact]
    public void Engine_StreamOfOtherSizeSameAspect_ZonesScale()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");
        var big = Frame.CreateDetached(1280, 960);

        // Feet at (400, 400) in 1280x960 are (200, 200) in the configured 640x480: inside the square.
        while (h.Time < S(2)) h.Step(true, [Track(1, "person", 370, 240, 60, 160)], [], big);

        var e = Assert.Single(h.Events);
        Assert.Equal(370, e.Box!.Value.X);
    }

    [Fact]
    public void Engine_StreamOfOtherAspect_PausesRulesAndSaysWhy()
    {
        var h = With("- {id: entry, type: zone-entry, zone: square, classes: [person]}");
        var wide = Frame.CreateDetached(1280, 720);

        while (h.Time < S(2)) h.Step(true, [Track(1, "person", 370, 240, 60, 160)], [], wide);
        var back = h.Step(true, [Person(1, 200, 200)], []);

        var degraded = Assert.Single(h.Events, e => e.Kind == "rules.degraded" && e.Phase == EventPhase.Start);
        Assert.Contains("1280x720", degraded.Detail);
        Assert.DoesNotContain(h.Events, e => e.Kind == "zone.entry");
        Assert.Contains(back, e => e.Kind == "rules.degraded" && e.Phase == EventPhase.End);
    }

    [Fact]
    public void EventIds_ReplayOfTheSameInput_YieldsTheSameIds()
    {
        IReadOnlyList<Guid> Run()
        {
            var h = With("""
                - {id: crowd, type: occupancy, zone: square, threshold: 2, for: 1s}
                - {id: flow, type: line-crossing, line: gate, interval: 5s}
                """);
            h.Run(S(12), t => [Person(1, 100 + 20 * (float)t.TotalSeconds, 240), Person(2, 150, 200)]);
            h.Complete();
            return h.Events.Select(e => e.Id).ToList();
        }

        var first = Run();
        Assert.True(first.Count >= 4);
        Assert.Equal(first, Run());
        Assert.Equal(first.Count, first.Distinct().Count());
    }

    [Fact]
    public void Events_CarryNoTrackIdentity()
    {
        // Track ids are anonymous and stay in the camera: no event property holds one.
        var properties = typeof(RuleEvent).GetProperties().Select(p => p.Name.ToLowerInvariant());
        Assert.DoesNotContain(properties, p => p.Contains("track", StringComparison.Ordinal));
    }
}
