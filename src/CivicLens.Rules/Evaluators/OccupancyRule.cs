using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Crowding and occupancy: how many objects of the rule's classes stand in a zone. The condition starts when the
/// count has stayed at or above the threshold for <see cref="OccupancyRuleConfig.For"/>, reports a new peak as an
/// update (at most every <see cref="UpdateEvery"/>), and ends once the count stayed below for
/// <see cref="OccupancyRuleConfig.ClearAfter"/>. People are only counted here; nobody is followed.
/// </summary>
public sealed class OccupancyRule : RuleEvaluator
{
    /// <summary>Tracks hidden for less than this still count (a person behind a sign or a lamp post is still there).</summary>
    private static readonly TimeSpan LostStillCounts = TimeSpan.FromSeconds(1.5);

    /// <summary>A dip this short does not restart the "for" timer (one missed detection is not a dispersed crowd).</summary>
    private static readonly TimeSpan DipTolerance = TimeSpan.FromSeconds(1);

    private readonly OccupancyRuleConfig _rule;
    private readonly Polygon _zone;
    private TimeSpan? _aboveSince;
    private TimeSpan? _belowSince;
    private Guid? _incident;
    private TimeSpan _incidentStart;
    private int _peak;
    private int _reportedPeak;
    private TimeSpan _lastUpdate;
    private float _scoreSum;
    private int _scoreCount;
    private int _count;

    public OccupancyRule(OccupancyRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _zone = context.Zone(rule.Zone).Polygon;
    }

    public static TimeSpan UpdateEvery { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The count in the zone after the last frame (for tests and the live view).</summary>
    public int CurrentCount => _count;

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        if (frame.Detected)
        {
            _count = 0;
            foreach (var t in frame.Alive)
            {
                if (!Accepts(t)) continue;
                if (t.State == TrackState.Lost && now - t.LastSeen > LostStillCounts) continue;
                var p = GroundPoint(t.Box);
                if (!_zone.Contains(p.X, p.Y)) continue;
                _count++;
                _scoreSum += t.Score;
                _scoreCount++;
            }
        }

        if (_count >= _rule.Threshold)
        {
            _belowSince = null;
            _aboveSince ??= now;
            _peak = Math.Max(_peak, _count);
            if (_incident is null && now - _aboveSince.Value >= _rule.For && !CoolingDown(now))
            {
                Fired(now);
                var id = NewId(0, "start", now);
                _incident = id;
                _incidentStart = _aboveSince.Value;
                _reportedPeak = _peak;
                _lastUpdate = now;
                output.Add(NewEvent("zone.occupancy", EventPhase.Start, id, frame, zone: _rule.Zone) with
                {
                    IncidentId = id,
                    Count = _count,
                    Label = Label,
                    Confidence = Confidence,
                    Duration = now - _aboveSince.Value,
                    Detail = $"{_count} in zone (threshold {_rule.Threshold})",
                });
            }
            else if (_incident is { } incident && _peak > _reportedPeak && now - _lastUpdate >= UpdateEvery)
            {
                _reportedPeak = _peak;
                _lastUpdate = now;
                output.Add(NewEvent("zone.occupancy", EventPhase.Update, NewId(0, "peak", now), frame, zone: _rule.Zone) with
                {
                    IncidentId = incident,
                    Count = _peak,
                    Label = Label,
                    Confidence = Confidence,
                    Duration = now - _incidentStart,
                    Detail = $"peak {_peak} in zone",
                });
            }
        }
        else
        {
            _belowSince ??= now;
            if (_incident is null)
            {
                if (now - _belowSince.Value > DipTolerance) Reset();
            }
            else if (now - _belowSince.Value >= _rule.ClearAfter)
            {
                End(frame, null, output);
            }
        }
    }

    private string Label => string.Join("+", Config.EffectiveClasses);

    private float Confidence => _scoreCount == 0 ? 0 : _scoreSum / _scoreCount;

    private void End(RuleFrame frame, string? detail, List<RuleEvent> output)
    {
        if (_incident is { } incident)
        {
            var endedAt = _belowSince ?? frame.StreamTime;
            output.Add(NewEvent("zone.occupancy", EventPhase.End, NewId(0, "end", frame.StreamTime), frame, zone: _rule.Zone) with
            {
                IncidentId = incident,
                Count = _peak,
                Label = Label,
                Confidence = Confidence,
                Duration = endedAt - _incidentStart,
                Detail = detail ?? $"peak {_peak} in zone",
            });
        }

        Reset();
    }

    private void Reset()
    {
        _incident = null;
        _aboveSince = null;
        _peak = 0;
        _reportedPeak = 0;
        _scoreSum = 0;
        _scoreCount = 0;
    }

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => End(frame, "outside the rule's schedule", output);

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => End(frame, "stream ended or restarted", output);
}
