using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Illegal parking: a vehicle that stays put in a no-stopping zone longer than <see cref="StationaryVehicleRuleConfig.After"/>.
/// The timer belongs to a place (an anchor box), not to a track id: when passers-by hide the vehicle and the
/// tracker gives it a new id, the new track lands on the same anchor and the timer goes on. An anchor is given
/// up when its vehicle drives away or stays unseen longer than the occlusion grace.
/// </summary>
public sealed class StationaryVehicleRule : RuleEvaluator
{
    private const float SameSpotIoU = 0.45f;

    private readonly StationaryVehicleRuleConfig _rule;
    private readonly Polygon _zone;
    private readonly List<Anchor> _anchors = [];
    private long _nextAnchor;

    public StationaryVehicleRule(StationaryVehicleRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _zone = context.Zone(rule.Zone).Polygon;
    }

    private sealed class Anchor
    {
        public long Key;
        public BoxF Box;
        public TimeSpan Since;
        public TimeSpan LastSeen;
        public int ClassId;
        public float ScoreSum;
        public int Observations;
        public Guid? Incident;
        public bool MatchedThisFrame;

        public float Confidence => Observations == 0 ? 0 : ScoreSum / Observations;
    }

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        // A still scene (motion gate skipped the detector) changes nothing: parked vehicles stay parked.
        if (!frame.Detected) { CheckTimers(frame, output); return; }

        foreach (var a in _anchors) a.MatchedThisFrame = false;
        foreach (var t in frame.Tracks)
        {
            if (t.State == TrackState.Removed || !Accepts(t)) continue;
            var ground = GroundPoint(t.Box);
            if (!_zone.Contains(ground.X, ground.Y)) continue;
            var anchor = BestAnchor(t.Box);
            if (anchor is null)
            {
                // A vehicle arriving, or one that moved off its spot (driving, not parked): a fresh timer starts here.
                // The old anchor is not dropped now: it ends when its grace runs out, so a car passing in front of a
                // parked one never resets the parked one's timer.
                _anchors.Add(new Anchor
                {
                    Key = ++_nextAnchor,
                    Box = t.Box,
                    Since = now,
                    LastSeen = now,
                    ClassId = t.ClassId,
                    ScoreSum = t.Score,
                    Observations = 1,
                    MatchedThisFrame = true,
                });
                continue;
            }

            anchor.MatchedThisFrame = true;
            anchor.LastSeen = now;
            anchor.ScoreSum += t.Score;
            anchor.Observations++;
            anchor.ClassId = t.ClassId;
        }

        CheckTimers(frame, output);
    }

    private void CheckTimers(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        for (var i = _anchors.Count - 1; i >= 0; i--)
        {
            var a = _anchors[i];
            if (frame.Detected && !a.MatchedThisFrame && now - a.LastSeen > _rule.OcclusionGrace)
            {
                Drop(a, frame, "vehicle gone", output);
                continue;
            }

            if (a.Incident is null && a.LastSeen - a.Since >= _rule.After && a.Observations >= 3 && !CoolingDown(now))
            {
                Fired(now);
                var id = NewId(a.Key, "start", now);
                a.Incident = id;
                output.Add(NewEvent("vehicle.stationary", EventPhase.Start, id, frame, zone: _rule.Zone) with
                {
                    IncidentId = id,
                    Label = LabelOf(a.ClassId),
                    Confidence = a.Confidence,
                    Box = a.Box,
                    Duration = now - a.Since,
                });
            }
        }
    }

    /// <summary>The unmatched anchor this box sits on: overlapping enough, and its centre within the drift allowance.</summary>
    private Anchor? BestAnchor(in BoxF box)
    {
        Anchor? best = null;
        var bestIoU = SameSpotIoU;
        foreach (var a in _anchors)
        {
            if (a.MatchedThisFrame) continue;
            var iou = a.Box.IoU(box);
            if (iou < bestIoU) continue;
            var diagonal = MathF.Sqrt(a.Box.Width * a.Box.Width + a.Box.Height * a.Box.Height);
            var dx = box.CenterX - a.Box.CenterX;
            var dy = box.CenterY - a.Box.CenterY;
            if (MathF.Sqrt(dx * dx + dy * dy) > _rule.MaxDrift * diagonal) continue;
            best = a;
            bestIoU = iou;
        }

        return best;
    }

    private void Drop(Anchor a, RuleFrame frame, string detail, List<RuleEvent> output)
    {
        _anchors.Remove(a);
        if (a.Incident is not { } incident) return;
        output.Add(NewEvent("vehicle.stationary", EventPhase.End, NewId(a.Key, "end", frame.StreamTime), frame, zone: _rule.Zone) with
        {
            IncidentId = incident,
            Label = LabelOf(a.ClassId),
            Confidence = a.Confidence,
            Box = a.Box,
            Duration = a.LastSeen - a.Since,
            Detail = detail,
        });
    }

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => DropAll(frame, "outside the rule's schedule", output);

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => DropAll(frame, "stream ended or restarted", output);

    private void DropAll(RuleFrame frame, string detail, List<RuleEvent> output)
    {
        foreach (var a in _anchors.ToArray()) Drop(a, frame, detail, output);
    }
}
