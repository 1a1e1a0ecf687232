using System.Globalization;
using System.Text;
using System.Text.Json;
using CivicLens.Rules.Configuration;

namespace CivicLens.Pipeline.Accuracy;

/// <summary>An event as read back from <c>analyze</c>'s JSON lines (only what scoring needs).</summary>
public sealed record ScoredEvent(string Kind, string Phase, string Rule, string? Zone, string? Line, double T, string? Direction);

/// <summary>Precision and recall of one rule against the hand-labelled truth.</summary>
public sealed record RuleScore(string Rule, string Kind, int Truth, int Found, int Matched, double Tolerance, double MeanOffset)
{
    public double Precision => Found == 0 ? (Truth == 0 ? 1 : 0) : (double)Matched / Found;

    public double Recall => Truth == 0 ? 1 : (double)Matched / Truth;
}

/// <summary>
/// Scores rule events against <see cref="GroundTruth"/>: each truth moment matches at most one event of the same
/// rule (and direction, for lines) within a tolerance, nearest first. Lasting conditions are scored by their start:
/// the truth's start is when the condition became reportable (a vehicle's arrival plus the rule's "after"; a crowd
/// at or above the threshold plus the rule's "for").
/// </summary>
public static class AccuracyScorer
{
    public const double MomentTolerance = 2.0;
    public const double ConditionTolerance = 3.0;

    public static IReadOnlyList<ScoredEvent> ReadEvents(IEnumerable<string> jsonLines)
    {
        var events = new List<ScoredEvent>();
        foreach (var line in jsonLines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.GetProperty("type").GetString() != "event" || !root.TryGetProperty("rule", out var rule)) continue;
            events.Add(new ScoredEvent(
                root.GetProperty("kind").GetString()!, root.GetProperty("phase").GetString()!, rule.GetString()!,
                root.TryGetProperty("zone", out var z) ? z.GetString() : null, root.TryGetProperty("line", out var l) ? l.GetString() : null,
                root.GetProperty("t").GetDouble(), root.TryGetProperty("direction", out var d) ? d.GetString() : null));
        }

        return events;
    }

    public static IReadOnlyList<RuleScore> Score(GroundTruth truth, CameraConfig camera, IReadOnlyList<ScoredEvent> events)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(camera);
        var scores = new List<RuleScore>();
        foreach (var rule in camera.Rules)
        {
            var mine = events.Where(e => e.Rule == rule.Id).ToList();
            switch (rule)
            {
                case ZoneEntryRuleConfig r when r.Dwell == TimeSpan.Zero && truth.ZoneEntries.TryGetValue(r.Zone, out var entries):
                    scores.Add(Match(rule.Id, "zone.entry", entries.Select(e => e.T).ToList(),
                        mine.Where(e => e.Kind == "zone.entry").Select(e => e.T).ToList(), MomentTolerance));
                    break;
                case LineCrossingRuleConfig r when truth.LineCrossings.TryGetValue(r.Line, out var crossings):
                    foreach (var direction in new[] { "in", "out" })
                    {
                        if (r.Direction != CrossingDirection.Both && !string.Equals(r.Direction.ToString(), direction, StringComparison.OrdinalIgnoreCase)) continue;
                        scores.Add(Match(rule.Id, $"line.crossed {direction}", crossings.Where(c => c.Direction == direction).Select(c => c.T).ToList(),
                            mine.Where(e => e.Kind == "line.crossed" && e.Direction == direction).Select(e => e.T).ToList(), MomentTolerance));
                    }

                    break;
                case StationaryVehicleRuleConfig r when truth.StationaryVehicles.TryGetValue(r.Zone, out var vehicles):
                    var expected = vehicles.Where(v => v.To - v.From >= r.After.TotalSeconds).Select(v => v.From + r.After.TotalSeconds).ToList();
                    scores.Add(Match(rule.Id, "vehicle.stationary", expected,
                        mine.Where(e => e.Kind == "vehicle.stationary" && e.Phase == "start").Select(e => e.T).ToList(), ConditionTolerance));
                    break;
                case OccupancyRuleConfig r when r.Zone == "plaza" && truth.PlazaCounts.Count > 0:
                    scores.Add(Match(rule.Id, "zone.occupancy", CrowdStarts(truth.PlazaCounts, r),
                        mine.Where(e => e.Kind == "zone.occupancy" && e.Phase == "start").Select(e => e.T).ToList(), ConditionTolerance));
                    break;
            }
        }

        return scores;
    }

    /// <summary>When the labelled counts first stayed at or above the threshold for the rule's "for" (runs closer than its clear_after merge).</summary>
    internal static List<double> CrowdStarts(IReadOnlyList<TruthCount> counts, OccupancyRuleConfig rule)
    {
        var starts = new List<double>();
        var ordered = counts.OrderBy(c => c.T).ToList();
        double? runStart = null;
        double? lastAbove = null;
        var reported = false;
        foreach (var c in ordered)
        {
            if (c.Count >= rule.Threshold)
            {
                if (runStart is null || (lastAbove is { } la && c.T - la > rule.ClearAfter.TotalSeconds + 1))
                {
                    runStart = c.T;
                    reported = false;
                }

                lastAbove = c.T;
                if (!reported && c.T - runStart >= rule.For.TotalSeconds)
                {
                    starts.Add(runStart.Value + rule.For.TotalSeconds);
                    reported = true;
                }
            }
            else if (lastAbove is { } la && c.T - la > rule.ClearAfter.TotalSeconds && !reported)
            {
                runStart = null;
            }
        }

        return starts;
    }

    private static RuleScore Match(string rule, string kind, List<double> truth, List<double> found, double tolerance)
    {
        // Nearest pairs first, each truth and each event used once.
        var pairs = (from t in Enumerable.Range(0, truth.Count)
                     from f in Enumerable.Range(0, found.Count)
                     let d = Math.Abs(truth[t] - found[f])
                     where d <= tolerance
                     orderby d
                     select (t, f, d)).ToList();
        var usedT = new HashSet<int>();
        var usedF = new HashSet<int>();
        var offsets = new List<double>();
        foreach (var (t, f, d) in pairs)
        {
            if (usedT.Contains(t) || usedF.Contains(f)) continue;
            usedT.Add(t);
            usedF.Add(f);
            offsets.Add(d);
        }

        return new RuleScore(rule, kind, truth.Count, found.Count, offsets.Count, tolerance, offsets.Count == 0 ? 0 : offsets.Average());
    }

    public static string ToMarkdown(IReadOnlyList<RuleScore> scores)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| rule | event | truth | found | matched | precision | recall | mean offset |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in scores)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Rule} | {s.Kind} | {s.Truth} | {s.Found} | {s.Matched} | {s.Precision:0.00} | {s.Recall:0.00} | {s.MeanOffset:0.0} s (±{s.Tolerance:0} s) |"));
        }

        return sb.ToString();
    }
}
