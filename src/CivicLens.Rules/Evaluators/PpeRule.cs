using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Personal protective equipment: a person on site whose head (for head items such as a helmet) or torso (for
/// vests) shows none of a required item for <see cref="PpeRuleConfig.For"/>, or shows a "missing" label (e.g. a bare
/// <c>head</c>). Needs a detector trained for these labels; with a model that lacks them the rule refuses to start,
/// because guessing would produce wrong events.
/// </summary>
public sealed class PpeRule : RuleEvaluator
{
    /// <summary>Labels of items worn on the head; everything else is looked for on the torso.</summary>
    private static readonly HashSet<string> HeadItems = new(StringComparer.OrdinalIgnoreCase)
    {
        "helmet", "hardhat", "hard-hat", "hard_hat", "hard hat", "head_helmet", "safety helmet", "hat",
    };

    private readonly PpeRuleConfig _rule;
    private readonly Polygon? _zone;
    private readonly (int ClassId, string Name, bool Head)[] _required;
    private readonly (int ClassId, string Name, bool Head)[] _missing;
    private readonly Dictionary<long, State> _tracks = [];

    public PpeRule(PpeRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _zone = rule.Zone is null ? null : context.Zone(rule.Zone).Polygon;
        var absent = rule.Require.Concat(rule.Missing).Where(n => !context.Labels.Contains(n)).ToList();
        if (absent.Count > 0)
        {
            throw RuleError("require", $"the detector has no label{(absent.Count > 1 ? "s" : "")} {string.Join(", ", absent.Select(a => $"'{a}'"))}. " +
                "The default COCO model cannot see protective equipment; configure a PPE model whose labels include them " +
                "(see docs/configuration/rules.md#ppe for accepted label schemes)");
        }

        _required = rule.Require.Select(Resolve).ToArray();
        _missing = rule.Missing.Select(Resolve).ToArray();
        (int, string, bool) Resolve(string name)
        {
            context.Labels.TryGetId(name, out var id);
            return (id, name, HeadItems.Contains(name) || name.Contains("head", StringComparison.OrdinalIgnoreCase));
        }
    }

    private sealed class State
    {
        public TimeSpan? MissingSince;
        public string? MissingWhat;
        public bool Reported;
    }

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        if (!frame.Detected) return;
        var now = frame.StreamTime;
        foreach (var t in frame.Tracks)
        {
            if (t.State == TrackState.Removed) { _tracks.Remove(t.TrackId); continue; }
            if (!Accepts(t)) continue;
            var ground = GroundPoint(t.Box);
            if (_zone is not null && !_zone.Contains(ground.X, ground.Y)) continue;
            if (!_tracks.TryGetValue(t.TrackId, out var s)) _tracks[t.TrackId] = s = new State();
            var what = MissingItem(frame, t.Box);
            if (what is null)
            {
                s.MissingSince = null;
                continue;
            }

            s.MissingSince ??= now;
            s.MissingWhat = what;
            if (s.Reported || now - s.MissingSince.Value < _rule.For || CoolingDown(now)) continue;
            s.Reported = true;
            Fired(now);
            output.Add(NewEvent("ppe.missing", EventPhase.Instant, NewId(t.TrackId, "ppe-" + what, now), frame, zone: _rule.Zone) with
            {
                Label = LabelOf(t.ClassId),
                Confidence = t.Score,
                Box = t.Box,
                Count = 1,
                Detail = what,
            });
        }
    }

    /// <summary>The first required item not seen on this person, or a "missing" label seen on them; null when equipped.</summary>
    private string? MissingItem(RuleFrame frame, in BoxF person)
    {
        var head = new BoxF(person.X, person.Y - person.Height * 0.05f, person.Width, person.Height * 0.3f);
        var torso = new BoxF(person.X, person.Y + person.Height * 0.15f, person.Width, person.Height * 0.5f);
        foreach (var m in _missing)
        {
            if (Covers(frame, m.ClassId, m.Head ? head : torso)) return m.Name;
        }

        foreach (var r in _required)
        {
            if (!Covers(frame, r.ClassId, r.Head ? head : torso)) return r.Name;
        }

        return null;
    }

    /// <summary>True when a detection of the class lies mostly inside the region.</summary>
    private bool Covers(RuleFrame frame, int classId, in BoxF region)
    {
        foreach (var d in frame.Detections)
        {
            if (d.ClassId != classId || d.Score < Config.MinScore * 0.8f || d.Box.Area <= 0) continue;
            if (d.Box.IntersectionArea(region) >= 0.5f * d.Box.Area) return true;
        }

        return false;
    }

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => _tracks.Clear();

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => _tracks.Clear();
}
