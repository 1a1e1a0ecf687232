using CivicLens.Reports.Geo;
using CivicLens.Rules.Configuration;

namespace CivicLens.Reports.Cases;

/// <summary>The case states and their allowed moves; a fixed case may be reopened, a closed one is final.</summary>
public static class CaseStates
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string InProgress = "in_progress";
    public const string Fixed = "fixed";
    public const string Closed = "closed";

    /// <summary>The allowed moves by their stored names (the rules are <see cref="Case.Moves"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Transitions =
        Case.Moves.ToDictionary(m => m.Key.Name(), m => m.Value.Select(s => s.Name()).ToArray(), StringComparer.Ordinal);

    /// <summary>What the public status page says of a state: plain words, nothing internal.</summary>
    public static string PublicWording(string state) => state switch
    {
        Open => "Received",
        Acknowledged => "Acknowledged by the department",
        InProgress => "Being fixed",
        Fixed => "Fixed, being checked",
        Closed => "Closed",
        _ => "Received",
    };
}

/// <summary>The service levels of a category: when a new case must be acknowledged and fixed.</summary>
public static class Sla
{
    public static (DateTimeOffset AcknowledgeBy, DateTimeOffset FixBy) For(CategoryConfig category, DateTimeOffset openedAt)
    {
        ArgumentNullException.ThrowIfNull(category);
        return (openedAt + category.AcknowledgeWithin, openedAt + category.FixWithin);
    }

    /// <summary>The breach a case is in at <paramref name="now"/>, if any: not acknowledged in time, or not fixed in time.</summary>
    public static string? Breach(string state, DateTimeOffset now, DateTimeOffset? acknowledgeBy, DateTimeOffset? fixBy)
    {
        if (state is CaseStates.Fixed or CaseStates.Closed) return null;
        if (fixBy is { } f && now > f) return "fix";
        if (state == CaseStates.Open && acknowledgeBy is { } a && now > a) return "acknowledge";
        return null;
    }
}

/// <summary>An open case a new problem may duplicate.</summary>
public sealed record CaseCandidate(long CaseId, string Category, GeoPoint? Place, DateTimeOffset OpenedAt);

/// <summary>
/// Likely duplicates: same category, within the category's radius and time window of an open case. Only a
/// suggestion: an operator confirms before anything is merged (two bins side by side are two problems).
/// </summary>
public static class DuplicateFinder
{
    public static IReadOnlyList<(CaseCandidate Case, double Metres)> Find(CategoryConfig category, GeoPoint place, DateTimeOffset at, IEnumerable<CaseCandidate> open)
    {
        ArgumentNullException.ThrowIfNull(category);
        ArgumentNullException.ThrowIfNull(open);
        return open
            .Where(c => c.Category == category.Id && c.Place is not null && (at - c.OpenedAt).Duration() <= category.DuplicateWindow)
            .Select(c => (Case: c, Metres: GeoMath.Distance(c.Place!.Value, place)))
            .Where(x => x.Metres <= category.DuplicateRadius)
            .OrderBy(x => x.Metres)
            .ToList();
    }
}
