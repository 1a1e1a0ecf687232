using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline.Output;

/// <summary>An event with the file name of its redacted evidence snapshot, if it has one.</summary>
public readonly record struct EvidencedEvent(RuleEvent Event, string? Snapshot);

/// <summary>
/// Another camera's redacted view of an event at a site it also covers (<see cref="SiteEvidence"/>): the file
/// <paramref name="Snapshot"/>, named for <paramref name="Camera"/>, in the snapshot folder.
/// </summary>
public readonly record struct SiteView(Guid EventId, string Kind, string Camera, string FromCamera, TimeSpan StreamTime, DateTimeOffset At, string Snapshot);

/// <summary>
/// Where a run's events go besides the JSON lines: the server's durable journal. The pipeline awaits it, so a
/// slow store slows the rules down (frames are dropped upstream) instead of losing events.
/// </summary>
public interface IRuleEventSink
{
    ValueTask OnEventsAsync(IReadOnlyList<EvidencedEvent> events, CancellationToken cancellationToken);

    /// <summary>Other cameras' views of events, written after their files; a sink that keeps none ignores them.</summary>
    ValueTask OnViewsAsync(IReadOnlyList<SiteView> views, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
