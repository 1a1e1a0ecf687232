using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Restricted-area entry: an object counts as entered once its ground point has been inside the zone for
/// <see cref="ZoneEntryRuleConfig.Settle"/>. With a dwell time (vehicles and objects only) the event is a lasting
/// <c>zone.dwell</c> condition that starts when the dwell is reached and ends when the object leaves.
/// </summary>
public sealed class ZoneEntryRule : RuleEvaluator
{
    /// <summary>Leaving for less than this is a box wobbling on the zone's edge, not a new entry.</summary>
    private static readonly TimeSpan Rearm = TimeSpan.FromSeconds(1.5);

    private readonly ZoneEntryRuleConfig _rule;
    private readonly Polygon _zone;
    private readonly Dictionary<long, State> _tracks = [];

    public ZoneEntryRule(ZoneEntryRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _zone = context.Zone(rule.Zone).Polygon;
    }

    /// <summary>How far inside the zone feet must be to count as entering: 5% of the box height, at least 2 px.</summary>
    private static float EntryDepth(in BoxF box) => MathF.Max(2f, box.Height * 0.05f);

    private sealed class State
    {
        public TimeSpan? InsideSince;
        public TimeSpan LastInside;
        public bool Reported;
        public Guid? Incident;
        public float BestScore;
        public int ClassId;
        public BoxF Box;
    }

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        foreach (var t in frame.Tracks)
        {
            if (t.State == TrackState.Removed)
            {
                if (_tracks.Remove(t.TrackId, out var gone) && gone.Incident is { } incident) EndDwell(frame, t.TrackId, gone, incident, null, output);
                continue;
            }

            if (!Accepts(t)) continue;
            var p = GroundPoint(t.Box);
            var contained = _zone.Contains(p.X, p.Y);
            // Entering needs the feet clearly inside for the whole settle time: a box's bottom edge jitters by a few
            // percent of its height (and spikes for a frame when people overlap), and someone walking along the
            // zone's border is not entering it. Once entered, staying inside needs no margin (hysteresis).
            var deep = contained && _zone.DistanceToEdge(p.X, p.Y) >= EntryDepth(t.Box);
            if (!_tracks.TryGetValue(t.TrackId, out var s))
            {
                s = new State();
                _tracks[t.TrackId] = s;
            }

            if (!s.Reported && !deep) s.InsideSince = null;
            var inside = s.Reported ? contained : deep;
            if (inside)
            {
                s.InsideSince ??= now;
                s.LastInside = now;
                s.BestScore = MathF.Max(s.BestScore, t.Score);
                s.ClassId = t.ClassId;
                s.Box = t.Box;
                if (!s.Reported && now - s.InsideSince.Value >= _rule.Settle + _rule.Dwell)
                {
                    s.Reported = true;
                    if (CoolingDown(now)) continue;
                    Fired(now);
                    if (_rule.Dwell == TimeSpan.Zero)
                    {
                        output.Add(NewEvent("zone.entry", EventPhase.Instant, NewId(t.TrackId, "entry", now), frame, zone: _rule.Zone) with
                        {
                            Label = LabelOf(t.ClassId),
                            Confidence = s.BestScore,
                            Box = t.Box,
                            Count = 1,
                        });
                    }
                    else
                    {
                        var id = NewId(t.TrackId, "dwell-start", now);
                        s.Incident = id;
                        output.Add(NewEvent("zone.dwell", EventPhase.Start, id, frame, zone: _rule.Zone) with
                        {
                            IncidentId = id,
                            Label = LabelOf(t.ClassId),
                            Confidence = s.BestScore,
                            Box = t.Box,
                            Duration = now - s.InsideSince.Value,
                        });
                    }
                }
            }
            else if (s.InsideSince is not null && now - s.LastInside >= Rearm)
            {
                if (s.Incident is { } incident) EndDwell(frame, t.TrackId, s, incident, null, output);
                s.InsideSince = null;
                s.Reported = false;
                s.Incident = null;
                s.BestScore = 0;
            }
        }
    }

    private void EndDwell(RuleFrame frame, long trackId, State s, Guid incident, string? detail, List<RuleEvent> output)
    {
        output.Add(NewEvent("zone.dwell", EventPhase.End, NewId(trackId, "dwell-end", frame.StreamTime), frame, zone: _rule.Zone) with
        {
            IncidentId = incident,
            Label = LabelOf(s.ClassId),
            Confidence = s.BestScore,
            Box = s.Box,
            Duration = s.LastInside - (s.InsideSince ?? s.LastInside),
            Detail = detail,
        });
        s.Incident = null;
    }

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => EndAll(frame, "outside the rule's schedule", output);

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => EndAll(frame, "stream ended or restarted", output);

    private void EndAll(RuleFrame frame, string detail, List<RuleEvent> output)
    {
        foreach (var (id, s) in _tracks)
        {
            if (s.Incident is { } incident) EndDwell(frame, id, s, incident, detail, output);
        }

        _tracks.Clear();
    }
}
