using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline.Output;

/// <summary>An event with the file name of its redacted evidence snapshot, if it has one.</summary>
public readonly record struct EvidencedEvent(RuleEvent Event, string? Snapshot);

/// <summary>
/// Where a run's events go besides the JSON lines: the server's durable journal. The pipeline awaits it, so a
/// slow store slows the rules down (frames are dropped upstream) instead of losing events.
/// </summary>
public interface IRuleEventSink
{
    ValueTask OnEventsAsync(IReadOnlyList<EvidencedEvent> events, CancellationToken cancellationToken);
}
