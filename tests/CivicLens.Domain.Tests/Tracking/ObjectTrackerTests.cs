using CivicLens.Domain.Tracking;
using static CivicLens.Domain.Tests.Tracking.Scene;
using ObjectDetection = CivicLens.Domain.Detection.Detection;

namespace CivicLens.Domain.Tests.Tracking;

public sealed class ObjectTrackerTests
{
    [Fact]
    public void Update_ObjectMovingLinearly_KeepsOneIdFor200Frames()
    {
        var tracker = new ObjectTracker();
        var ids = new HashSet<long>();
        var states = new List<TrackState>();
        for (var f = 0; f < 200; f++)
        {
            var t = f / 10.0;
            var output = tracker.Step(t, Det(Box(100 + 30 * t, 200 + 10 * t, 40, 80)));
            if (f == 0)
            {
                Assert.Empty(output); // needs MinHitsToConfirm = 2 frames
                continue;
            }

            var track = Assert.Single(output);
            ids.Add(track.TrackId);
            states.Add(track.State);
            Assert.Equal(f + 1, track.Hits);
            Assert.Equal(TimeSpan.Zero, track.FirstSeen);
            Assert.Equal(Seconds(t), track.LastSeen);
        }

        Assert.Equal([1L], ids);
        Assert.Equal(TrackState.New, states[0]);
        Assert.All(states.Skip(1), s => Assert.Equal(TrackState.Tracked, s));
    }

    [Fact]
    public void Update_FilteredBox_FollowsTheObjectClosely()
    {
        var tracker = new ObjectTracker();
        TrackedObject last = default;
        for (var f = 0; f < 50; f++)
        {
            var t = f / 10.0;
            var output = tracker.Step(t, Det(Box(100 + 30 * t, 200, 40, 80)));
            if (f > 0) last = Assert.Single(output);
        }

        Assert.Equal(100 + 30 * 4.9, last.Box.CenterX, 1.0);
        Assert.Equal(200, last.Box.CenterY, 1.0);
        Assert.Equal(40, last.Box.Width, 1.0);
        Assert.Equal(80, last.Box.Height, 1.0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Update_TwoObjectsCrossing_KeepTheirIds(bool mergedWhileOverlapping)
    {
        // Same class, an X: A goes right and down, B goes left and down; at 25 fps they overlap for a few frames.
        // With mergedWhileOverlapping the detector sees only the front one (A) while they overlap, as NMS would.
        var tracker = new ObjectTracker();
        const double Fps = 25;
        long idA = 0, idB = 0;
        var checkedFrames = 0;
        for (var f = 0; f < 100; f++)
        {
            var t = f / Fps;
            var a = Box(100 + 100 * t, 100 + 80 * t, 40, 80);
            var b = Box(500 - 100 * t, 100 + 80 * t, 40, 80);
            var output = mergedWhileOverlapping && a.IoU(b) > 0.3 ? tracker.Step(t, Det(a)) : tracker.Step(t, Det(a), Det(b));
            if (f == 1)
            {
                idA = output.Single(o => o.Box.CenterX < 300).TrackId;
                idB = output.Single(o => o.Box.CenterX > 300).TrackId;
            }

            foreach (var o in output)
            {
                Assert.True(o.TrackId == idA || o.TrackId == idB, $"unexpected id {o.TrackId} at frame {f}");
                var truth = o.TrackId == idA ? a : b;
                Assert.True(Math.Abs(o.Box.CenterX - truth.CenterX) < 15, $"track {o.TrackId} at x={o.Box.CenterX}, its object at {truth.CenterX}, frame {f}");
                checkedFrames++;
            }
        }

        Assert.NotEqual(idA, idB);
        Assert.True(checkedFrames > 180, $"only {checkedFrames} track reports");
        // After the crossing both are tracked again, each still moving its own way.
        var final = tracker.Tracks.ToDictionary(x => x.TrackId);
        Assert.True(final[idA].VelocityX > 50, $"A moves right, its track says {final[idA].VelocityX} px/s");
        Assert.True(final[idB].VelocityX < -50, $"B moves left, its track says {final[idB].VelocityX} px/s");
    }

    [Fact]
    public void Update_OccludedForOneSecond_KeepsIdWhenItReappearsOnItsPath()
    {
        var tracker = new ObjectTracker();
        var ids = new HashSet<long>();
        for (var f = 0; f < 60; f++)
        {
            var t = f / 10.0;
            var hidden = t >= 3.0 && t < 4.0;
            var output = hidden ? tracker.Step(t) : tracker.Step(t, Det(Box(100 + 50 * t, 300 + 20 * t, 40, 80)));
            Assert.DoesNotContain(output, o => o.State == TrackState.Removed);
            if (hidden)
            {
                Assert.Empty(output);
                Assert.Equal(TrackState.Lost, Assert.Single(tracker.Tracks).State);
            }
            else if (f > 0)
            {
                ids.Add(Assert.Single(output).TrackId);
            }
        }

        Assert.Equal([1L], ids);
    }

    [Fact]
    public void Update_OccludedForThreeSeconds_OldIdRemovedAndNewIdGiven()
    {
        var tracker = new ObjectTracker();
        var removed = new List<(double Time, TrackedObject Track)>();
        var born = new List<(double Time, TrackedObject Track)>();
        for (var f = 0; f < 80; f++)
        {
            var t = f / 10.0;
            var hidden = t >= 3.0 && t < 6.0;
            var output = hidden ? tracker.Step(t) : tracker.Step(t, Det(Box(100 + 50 * t, 300, 40, 80)));
            removed.AddRange(output.Where(o => o.State == TrackState.Removed).Select(o => (t, o)));
            born.AddRange(output.Where(o => o.State == TrackState.New).Select(o => (t, o)));
        }

        var end = Assert.Single(removed);
        Assert.Equal(1, end.Track.TrackId);
        Assert.Equal(Seconds(2.9), end.Track.LastSeen);
        Assert.Equal(5.0, end.Time, 3); // first frame more than MaxLostTime (2 s) after the last detection
        Assert.Equal(100 + 50 * 2.9, end.Track.Box.CenterX, 2.0); // the last box, not a prediction
        Assert.Equal([1L, 2L], born.Select(b => b.Track.TrackId));
        Assert.Equal(6.1, born[1].Time, 3);
        Assert.Equal(Seconds(6.0), born[1].Track.FirstSeen);
        Assert.Equal(2, Assert.Single(tracker.Tracks).TrackId);
    }

    [Fact]
    public void Update_LowScoreDetections_KeepExistingTrackButNeverStartOne()
    {
        var tracker = new ObjectTracker();
        var stranger = Box(600, 100, 40, 80); // only ever seen at 0.3
        for (var f = 0; f < 10; f++)
        {
            var t = f / 10.0;
            tracker.Step(t, Det(Box(100 + 40 * t, 300, 40, 80)), Det(stranger, 0.3f));
        }

        for (var f = 10; f < 60; f++)
        {
            var t = f / 10.0;
            var output = tracker.Step(t, Det(Box(100 + 40 * t, 300, 40, 80), 0.3f), Det(stranger, 0.3f));
            var track = Assert.Single(output);
            Assert.Equal(1, track.TrackId);
            Assert.Equal(TrackState.Tracked, track.State);
            Assert.Equal(0.3f, track.Score);
        }

        Assert.Single(tracker.Tracks);
    }

    [Fact]
    public void Update_OnlyLowScoreDetections_StartNoTrack()
    {
        var tracker = new ObjectTracker();
        for (var f = 0; f < 50; f++)
        {
            var t = f / 10.0;
            Assert.Empty(tracker.Step(t, Det(Box(100 + 40 * t, 300, 40, 80), 0.3f), Det(Box(500, 300, 40, 80), 0.44f)));
        }

        Assert.Empty(tracker.Tracks);
    }

    [Fact]
    public void Update_DetectionsBelowLowScoreThreshold_DoNotKeepTrackAlive()
    {
        var tracker = new ObjectTracker();
        for (var f = 0; f < 10; f++) tracker.Step(f / 10.0, Det(Box(100, 300, 40, 80)));
        for (var f = 10; f < 15; f++)
        {
            Assert.Empty(tracker.Step(f / 10.0, Det(Box(100, 300, 40, 80), 0.1f)));
            Assert.Equal(TrackState.Lost, Assert.Single(tracker.Tracks).State);
        }
    }

    [Fact]
    public void Update_LowScoreDetection_DoesNotReviveLostTrack()
    {
        // ByteTrack's second stage only extends tracks seen in the previous frame.
        var tracker = new ObjectTracker();
        for (var f = 0; f < 10; f++) tracker.Step(f / 10.0, Det(Box(100, 300, 40, 80)));
        tracker.Step(1.0);
        Assert.Empty(tracker.Step(1.1, Det(Box(100, 300, 40, 80), 0.3f)));
        Assert.Equal(TrackState.Lost, Assert.Single(tracker.Tracks).State);
        Assert.Equal(1, Assert.Single(tracker.Step(1.2, Det(Box(100, 300, 40, 80), 0.8f))).TrackId);
    }

    [Fact]
    public void Update_ScoreBetweenHighAndNewTrackThresholds_MatchesButDoesNotStartTracks()
    {
        var tracker = new ObjectTracker();
        for (var f = 0; f < 5; f++) Assert.Empty(tracker.Step(f / 10.0, Det(Box(100, 300, 40, 80), 0.47f)));

        for (var f = 5; f < 10; f++) tracker.Step(f / 10.0, Det(Box(100, 300, 40, 80)));
        tracker.Step(1.0);
        // A lost track is revived by a first-stage (high-score) detection even below the new-track score.
        Assert.Equal(1, Assert.Single(tracker.Step(1.1, Det(Box(100, 300, 40, 80), 0.47f))).TrackId);
    }

    [Fact]
    public void Update_CarAndPersonOverlapping_NeverSwapIds()
    {
        var tracker = new ObjectTracker();
        var car = Box(300, 300, 100, 60);
        var classOfId = new Dictionary<long, int>();
        for (var f = 0; f < 60; f++)
        {
            var t = f / 10.0;
            var person = Box(200 + 40 * t, 300, 40, 90); // walks right across the parked car
            foreach (var o in tracker.Step(t, Det(car, 0.8f, Car), Det(person, 0.7f, Person)))
            {
                if (classOfId.TryGetValue(o.TrackId, out var cls)) Assert.Equal(cls, o.ClassId);
                else classOfId[o.TrackId] = o.ClassId;
                var truth = o.ClassId == Car ? car : person;
                Assert.True(Math.Abs(o.Box.CenterX - truth.CenterX) < 10, $"frame {f}: id {o.TrackId} ({o.ClassId}) at {o.Box}, object at {truth}");
            }
        }

        Assert.Equal(2, classOfId.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Update_PersonHidesCar_CarTrackTakenOverOnlyWhenClassBlind(bool classAware)
    {
        // Frames 0-19 a parked car; 20-29 a person stands in front of it and the car is not detected;
        // from 30 both are detected. A class-blind tracker lets the person's box hijack the car's id.
        var tracker = new ObjectTracker(new TrackerOptions { ClassAware = classAware });
        var car = Box(300, 300, 100, 60);
        var person = Box(300, 300, 40, 90);
        var carIdBoxes = new List<TrackedObject>();
        for (var f = 0; f < 40; f++)
        {
            var t = f / 10.0;
            var output = f < 20 ? tracker.Step(t, Det(car, 0.8f, Car))
                : f < 30 ? tracker.Step(t, Det(person, 0.7f, Person))
                : tracker.Step(t, Det(car, 0.8f, Car), Det(person, 0.7f, Person));
            carIdBoxes.AddRange(output.Where(o => o.TrackId == 1));
        }

        var hijacked = carIdBoxes.Any(o => o.ClassId == Person || Math.Abs(o.Box.Width - 100) > 20);
        Assert.Equal(!classAware, hijacked);
        if (classAware)
        {
            Assert.Equal(29, carIdBoxes.Count(o => o.ClassId == Car)); // frames 1-19 (confirmed at 1) and 30-39
            Assert.Contains(tracker.Tracks, o => o.ClassId == Person && o.TrackId == 2);
        }
    }

    [Fact]
    public void Constructor_TwoTrackers_EachStartIdsAtOne()
    {
        var a = new ObjectTracker();
        var b = new ObjectTracker();
        for (var f = 0; f < 3; f++)
        {
            a.Step(f / 10.0, Det(Box(100, 100, 40, 80)), Det(Box(400, 100, 40, 80)));
            b.Step(f / 10.0, Det(Box(200, 200, 40, 80)));
        }

        Assert.Equal([1L, 2L], a.Tracks.Select(o => o.TrackId).Order());
        Assert.Equal([1L], b.Tracks.Select(o => o.TrackId));
    }

    [Fact]
    public void Update_JitteredDetections_KeepOneId()
    {
        var random = new Random(1234);
        var tracker = new ObjectTracker();
        var ids = new HashSet<long>();
        var reports = 0;
        for (var f = 0; f < 200; f++)
        {
            var t = f / 10.0;
            var truth = Box(100 + 20 * t, 300 - 5 * t, 24, 48);
            foreach (var o in tracker.Step(t, Det(truth.Jitter(random, 3))))
            {
                ids.Add(o.TrackId);
                reports++;
            }
        }

        Assert.Equal([1L], ids);
        Assert.Equal(199, reports);
    }

    [Fact]
    public void Update_VariableFrameIntervals_KeepsIdAndLearnsSpeed()
    {
        double[] gaps = [0.04, 0.2, 0.1, 0.5, 0.033, 0.3, 0.25];
        var tracker = new ObjectTracker();
        var ids = new HashSet<long>();
        var t = 0.0;
        TrackedObject last = default;
        for (var f = 0; f < 100; f++)
        {
            foreach (var o in tracker.Step(t, Det(Box(100 + 80 * t, 300 + 30 * t, 40, 80))))
            {
                ids.Add(o.TrackId);
                last = o;
            }

            t += gaps[f % gaps.Length];
        }

        Assert.Equal([1L], ids);
        Assert.Equal(100, last.Hits); // matched in every frame
        Assert.InRange(last.VelocityX, 80 * 0.85, 80 * 1.15);
        Assert.InRange(last.VelocityY, 30 * 0.85, 30 * 1.15);
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(25.0)]
    public void Update_ParkedBox_VelocityConvergesNearZero(double fps)
    {
        // A parked car 60 px tall whose detections jitter by up to 2 px on every side, as real ones do.
        var random = new Random(7);
        var tracker = new ObjectTracker();
        var parked = Box(400, 300, 120, 60);
        var worst = 0f;
        for (var f = 0; f < 10 * fps; f++)
        {
            var o = Assert.Single(tracker.Step(f / fps, Det(parked.Jitter(random, 2), 0.8f, Car)).DefaultIfEmpty());
            if (f >= 5 * fps) worst = Math.Max(worst, o.Speed); // every frame of the last 5 s
        }

        // Under 1/7 of its height per second in every frame (30 seeds: at most 5.6 px/s; ByteTrack's noise gives 9.5).
        Assert.True(worst < 8, $"a parked car reported up to {worst} px/s");
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(25.0)]
    public void Update_MovingBox_VelocityWithin15PercentOfTrueSpeed(double fps)
    {
        var random = new Random(11);
        var tracker = new ObjectTracker();
        var trueSpeed = Math.Sqrt(60 * 60 + 25 * 25);
        for (var f = 0; f < 10 * fps; f++)
        {
            var t = f / fps;
            var o = Assert.Single(tracker.Step(t, Det(Box(100 + 60 * t, 400 - 25 * t, 60, 40).Jitter(random, 2), 0.8f, Car)).DefaultIfEmpty());
            if (t < 5) continue;
            Assert.Equal(1, o.TrackId);
            Assert.InRange(o.Speed, trueSpeed * 0.85, trueSpeed * 1.15);
            Assert.InRange(o.VelocityX, 60 * 0.85, 60 * 1.15);
            Assert.InRange(o.VelocityY, -25 * 1.3, -25 * 0.7); // the smaller component, in relative terms noisier
        }
    }

    [Fact]
    public void Reset_AfterTracks_ClearsTracksAndClockButNeverReusesIds()
    {
        var tracker = new ObjectTracker();
        for (var f = 0; f < 5; f++) tracker.Step(10 + f / 10.0, Det(Box(100, 100, 40, 80)), Det(Box(400, 100, 40, 80)));
        Assert.Equal(2, tracker.Tracks.Count);

        var ended = new List<TrackedObject>();
        tracker.Reset(ended);
        Assert.Empty(tracker.Tracks);
        Assert.Equal([1L, 2L], ended.Select(e => e.TrackId));
        Assert.All(ended, e => Assert.Equal(TrackState.Removed, e.State));

        // The stream clock may restart; the same object is a new track with a fresh id and no old state.
        Assert.Empty(tracker.Step(0.0, Det(Box(100, 100, 40, 80))));
        var again = Assert.Single(tracker.Step(0.1, Det(Box(100, 100, 40, 80))));
        Assert.Equal(3, again.TrackId);
        Assert.Equal(TrackState.New, again.State);
        Assert.Equal(2, again.Hits);
        Assert.Equal(TimeSpan.Zero, again.FirstSeen);

        tracker.Reset();
        Assert.Empty(tracker.Tracks);
        Assert.Empty(tracker.Step(0.0)); // no Removed for tracks dropped by Reset()
    }

    [Fact]
    public void Update_MinHitsThree_ConfirmsOnThirdConsecutiveHit()
    {
        var tracker = new ObjectTracker(new TrackerOptions { MinHitsToConfirm = 3 });
        var box = Box(100, 100, 40, 80);
        Assert.Empty(tracker.Step(0.0, Det(box)));
        Assert.Empty(tracker.Step(0.1, Det(box)));
        Assert.Empty(tracker.Step(0.2)); // a miss discards the candidate
        Assert.Empty(tracker.Step(0.3, Det(box)));
        Assert.Empty(tracker.Step(0.4, Det(box)));
        var confirmed = Assert.Single(tracker.Step(0.5, Det(box)));
        Assert.Equal((1L, TrackState.New, 3), (confirmed.TrackId, confirmed.State, confirmed.Hits));
        Assert.Equal(Seconds(0.3), confirmed.FirstSeen);
    }

    [Fact]
    public void Update_MinHitsOne_ReportsNewOnFirstFrame()
    {
        var tracker = new ObjectTracker(new TrackerOptions { MinHitsToConfirm = 1 });
        var first = Assert.Single(tracker.Step(0.0, Det(Box(100, 100, 40, 80))));
        Assert.Equal((1L, TrackState.New), (first.TrackId, first.State));
        Assert.Equal(TrackState.Tracked, Assert.Single(tracker.Step(0.1, Det(Box(100, 100, 40, 80)))).State);
    }

    [Fact]
    public void Update_EmptyBoxes_AreIgnored()
    {
        var tracker = new ObjectTracker();
        for (var f = 0; f < 5; f++)
        {
            Assert.Empty(tracker.Step(f / 10.0, Det(new(100, 100, 0, 80)), Det(new(300, 100, 40, -5))));
        }

        Assert.Empty(tracker.Tracks);
    }

    [Fact]
    public void Update_StreamTimeGoesBackwards_ThrowsNamingTheCause()
    {
        var tracker = new ObjectTracker();
        tracker.Step(5.0, Det(Box(100, 100, 40, 80)));
        var ex = Assert.Throws<ArgumentException>(() => tracker.Step(4.9, Det(Box(100, 100, 40, 80))));
        Assert.Equal("streamTime", ex.ParamName);
        Assert.Contains("went backwards", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Reset()", ex.Message, StringComparison.Ordinal);
        tracker.Step(5.0, Det(Box(100, 100, 40, 80))); // the same time again is fine (dt = 0)
    }

    [Theory]
    [InlineData(float.NaN, 0.9f)]
    [InlineData(float.PositiveInfinity, 0.9f)]
    [InlineData(40f, float.NaN)]
    public void Update_NonFiniteDetection_ThrowsNamingTheDetection(float width, float score)
    {
        var tracker = new ObjectTracker();
        var ex = Assert.Throws<ArgumentException>(
            () => tracker.Step(0, Det(Box(100, 100, 40, 80)), new ObjectDetection(new(10, 10, width, 80), 3, score)));
        Assert.Equal("detections", ex.ParamName);
        Assert.Contains("Detection 1 (class 3) has a non-finite box or score", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_NullOutput_Throws()
    {
        var tracker = new ObjectTracker();
        Assert.Throws<ArgumentNullException>(() => tracker.Update([], TimeSpan.Zero, null!));
    }

    [Fact]
    public void Update_OutputList_IsClearedEachFrame()
    {
        var tracker = new ObjectTracker();
        var output = new List<TrackedObject> { default, default };
        tracker.Update([Det(Box(100, 100, 40, 80))], TimeSpan.Zero, output);
        Assert.Empty(output);
    }
}
