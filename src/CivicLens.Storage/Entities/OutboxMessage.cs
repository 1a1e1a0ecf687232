namespace CivicLens.Storage.Entities;

/// <summary>
/// A message committed in the same transaction as the event it carries, one per delivery channel; the dispatcher
/// delivers it at least once and marks it delivered (the receiver deduplicates by event id).
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }

    /// <summary>webhook:NAME or mqtt.</summary>
    public required string Channel { get; set; }

    public Guid EventId { get; set; }

    /// <summary>The message body (JSON).</summary>
    public required string Payload { get; set; }

    public long CreatedAt { get; set; }

    public int Attempts { get; set; }

    public long NextAttemptAt { get; set; }

    public long? DeliveredAt { get; set; }

    public string? LastError { get; set; }
}
