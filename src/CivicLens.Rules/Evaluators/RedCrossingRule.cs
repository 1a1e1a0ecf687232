using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Crossing on red: a person whose ground point is inside the crosswalk zone for <see cref="RedCrossingRuleConfig.Settle"/>
/// while the signal is red (and has been for <see cref="RedCrossingRuleConfig.RedGrace"/>, so someone finishing a
/// crossing as the light changes is not counted). When the signal's state is unknown (an external feed went silent)
/// the rule reports itself degraded and judges nothing: no event is better than a wrong one.
/// </summary>
public sealed class RedCrossingRule : RuleEvaluator
{
    private readonly RedCrossingRuleConfig _rule;
    private readonly Polygon _zone;
    private readonly Dictionary<long, State> _tracks = [];
    private string? _degraded;

    public RedCrossingRule(RedCrossingRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _zone = context.Zone(rule.Zone).Polygon;
    }

    private sealed class State
    {
        public TimeSpan? RedInsideSince;
        public bool Reported;
    }

    public override string? Degraded => _degraded;

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        var signal = Context.Signals.Read(_rule.Signal, now, frame.At);
        if (signal.State == SignalState.Unknown)
        {
            _degraded = $"signal '{_rule.Signal}' has no current state";
            _tracks.Clear();
            return;
        }

        _degraded = null;
        var red = signal.State == SignalState.Red && signal.HeldFor >= _rule.RedGrace;
        foreach (var t in frame.Tracks)
        {
            if (t.State == TrackState.Removed) { _tracks.Remove(t.TrackId); continue; }
            if (!Accepts(t)) continue;
            var p = GroundPoint(t.Box);
            var inside = _zone.Contains(p.X, p.Y);
            if (!_tracks.TryGetValue(t.TrackId, out var s)) _tracks[t.TrackId] = s = new State();
            if (!inside || !red)
            {
                s.RedInsideSince = null;
                continue;
            }

            s.RedInsideSince ??= now;
            if (s.Reported || now - s.RedInsideSince.Value < _rule.Settle || CoolingDown(now)) continue;
            s.Reported = true;
            Fired(now);
            output.Add(NewEvent("crossing.red", EventPhase.Instant, NewId(t.TrackId, "red", now), frame, zone: _rule.Zone) with
            {
                Label = LabelOf(t.ClassId),
                Confidence = t.Score,
                Box = t.Box,
                Count = 1,
                Detail = $"signal '{_rule.Signal}' red",
            });
        }
    }

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => _tracks.Clear();

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => _tracks.Clear();
}
