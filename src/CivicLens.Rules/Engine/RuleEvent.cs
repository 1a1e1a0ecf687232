using CivicLens.Domain.Geometry;

namespace CivicLens.Rules.Engine;

/// <summary>Where an event stands: a moment, or the start, an update or the end of a lasting condition.</summary>
public enum EventPhase
{
    Instant,
    Start,
    Update,
    End,
}

/// <summary>
/// A municipal event produced by a rule. It carries no track id: ids are anonymous, valid in one camera only,
/// and only feed the deterministic <see cref="Id"/> (a replay of the same footage yields the same ids).
/// </summary>
public sealed record RuleEvent
{
    public required Guid Id { get; init; }

    /// <summary>What happened, e.g. <c>zone.entry</c>, <c>vehicle.stationary</c>, <c>zone.occupancy</c>, <c>line.crossed</c>, <c>camera.offline</c>.</summary>
    public required string Kind { get; init; }

    public required EventPhase Phase { get; init; }

    public required string Camera { get; init; }

    /// <summary>The rule id (or <c>health</c> for camera health events).</summary>
    public required string Rule { get; init; }

    /// <summary>Routing category (the rule's <c>category</c>, else its type).</summary>
    public required string Category { get; init; }

    public string? Zone { get; init; }

    public string? Line { get; init; }

    public string? Site { get; init; }

    public required TimeSpan StreamTime { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>For start, update and end: the id of the start event, which names the whole condition.</summary>
    public Guid? IncidentId { get; init; }

    public string? Label { get; init; }

    public int? Count { get; init; }

    /// <summary>How sure the rule is (the detections' scores behind it), 0 to 1.</summary>
    public float Confidence { get; init; }

    /// <summary>The object's box in the frame's pixels, when one object is the subject.</summary>
    public BoxF? Box { get; init; }

    /// <summary>How long the condition lasted (end) or has lasted (start, update).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>in or out for line crossings.</summary>
    public string? Direction { get; init; }

    /// <summary>Short operator text, e.g. the missing PPE item or a degraded reason.</summary>
    public string? Detail { get; init; }

    /// <summary>Counts per label and direction for <c>line.counts</c> (e.g. <c>person.in</c>).</summary>
    public IReadOnlyDictionary<string, int>? Counts { get; init; }

    /// <summary>Start of the counting interval for <c>line.counts</c>.</summary>
    public TimeSpan? IntervalStart { get; init; }
}
