using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Flows across a counting line. A track's ground point must move from one side to the other, passing within
/// the segment, and settle a few pixels beyond it (so a box jittering on the line counts once). Each crossing
/// can be its own <c>line.crossed</c> event; counts per label and direction are reported per interval as <c>line.counts</c>.
/// </summary>
public sealed class LineCrossingRule : RuleEvaluator
{
    private readonly LineCrossingRuleConfig _rule;
    private readonly PointF _a;
    private readonly float _dx;
    private readonly float _dy;
    private readonly float _length;
    private readonly float _inSign;
    private readonly Dictionary<long, Side> _sides = [];
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private long _interval = -1;

    public LineCrossingRule(LineCrossingRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        var line = context.Line(rule.Line);
        _a = line.From;
        _dx = line.To.X - line.From.X;
        _dy = line.To.Y - line.From.Y;
        _length = MathF.Sqrt(_dx * _dx + _dy * _dy);
        _inSign = MathF.Sign(SignedDistance(line.InPoint));
    }

    private struct Side
    {
        public float Sign;
        public PointF Point;
    }

    /// <summary>Signed distance from the line in pixels (positive on one side, negative on the other).</summary>
    private float SignedDistance(PointF p) => (_dx * (p.Y - _a.Y) - _dy * (p.X - _a.X)) / _length;

    /// <summary>Where along the segment a point projects: 0 at <c>from</c>, 1 at <c>to</c>.</summary>
    private float Along(PointF p) => (_dx * (p.X - _a.X) + _dy * (p.Y - _a.Y)) / (_length * _length);

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        var interval = (long)(now.Ticks / _rule.Interval.Ticks);
        if (_interval < 0) _interval = interval;
        if (interval != _interval)
        {
            FlushCounts(frame, _interval, partial: false, output);
            _interval = interval;
        }

        foreach (var t in frame.Tracks)
        {
            if (t.State == TrackState.Removed) { _sides.Remove(t.TrackId); continue; }
            if (!Accepts(t)) continue;
            var p = GroundPoint(t.Box);
            var d = SignedDistance(p);
            // Hysteresis grows with the object's size: feet of a near person jitter more than those of a far one.
            var margin = MathF.Max(2f, t.Box.Height * 0.04f);
            if (!_sides.TryGetValue(t.TrackId, out var side))
            {
                if (MathF.Abs(d) >= margin) _sides[t.TrackId] = new Side { Sign = MathF.Sign(d), Point = p };
                continue;
            }

            if (MathF.Abs(d) < margin) continue;
            var sign = MathF.Sign(d);
            if (sign == side.Sign)
            {
                _sides[t.TrackId] = new Side { Sign = sign, Point = p };
                continue;
            }

            // Crossed: check the crossing point lies on the segment, not on the line's extension.
            var d0 = SignedDistance(side.Point);
            var f = d0 / (d0 - d);
            var cross = new PointF(side.Point.X + (p.X - side.Point.X) * f, side.Point.Y + (p.Y - side.Point.Y) * f);
            var along = Along(cross);
            _sides[t.TrackId] = new Side { Sign = sign, Point = p };
            if (along < 0 || along > 1) continue;
            var direction = sign == _inSign ? "in" : "out";
            if (_rule.Direction == CrossingDirection.In && direction != "in") continue;
            if (_rule.Direction == CrossingDirection.Out && direction != "out") continue;
            var label = LabelOf(t.ClassId);
            var key = $"{label}.{direction}";
            _counts[key] = _counts.GetValueOrDefault(key) + 1;
            if (_rule.EachCrossing && !CoolingDown(now))
            {
                Fired(now);
                output.Add(NewEvent("line.crossed", EventPhase.Instant, NewId(t.TrackId, "cross-" + direction, now), frame, line: _rule.Line) with
                {
                    Label = label,
                    Direction = direction,
                    Confidence = t.Score,
                    Box = t.Box,
                    Count = 1,
                });
            }
        }
    }

    private void FlushCounts(RuleFrame frame, long interval, bool partial, List<RuleEvent> output)
    {
        var start = TimeSpan.FromTicks(interval * _rule.Interval.Ticks);
        var counts = new SortedDictionary<string, int>(_counts, StringComparer.Ordinal);
        _counts.Clear();
        output.Add(NewEvent("line.counts", EventPhase.Instant, NewId(interval, partial ? "counts-partial" : "counts", start), frame, line: _rule.Line) with
        {
            Counts = counts,
            Count = counts.Values.Sum(),
            IntervalStart = start,
            Confidence = 1f,
            Duration = partial ? frame.StreamTime - start : _rule.Interval,
            Detail = partial ? "partial interval" : null,
        });
    }

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => Complete(frame, output);

    public override void Complete(RuleFrame frame, List<RuleEvent> output)
    {
        if (_interval >= 0) FlushCounts(frame, _interval, partial: true, output);
        _interval = -1;
        _sides.Clear();
    }
}
