namespace CivicLens.Server.Outbox;

/// <summary>What the dispatcher has done since the start (for health pages and tests).</summary>
public sealed class OutboxStatus
{
    private long _delivered;
    private long _failedAttempts;
    private long _rounds;
    private long _purged;

    /// <summary>Messages delivered (a re-delivery after a crash counts again).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Failed delivery attempts (each retry that fails counts).</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Undelivered messages of the configured channels that were due at the last read (at most one batch).</summary>
    public int DueAtLastRound { get; private set; }

    /// <summary>Completed dispatch rounds: a test waits for one to know every due row was seen.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Delivered messages purged after the retention.</summary>
    public long Purged => Interlocked.Read(ref _purged);

    internal void Round(int due, int delivered, int failed)
    {
        DueAtLastRound = due;
        Interlocked.Add(ref _delivered, delivered);
        Interlocked.Add(ref _failedAttempts, failed);
        Interlocked.Increment(ref _rounds);
    }

    internal void Purge(int rows) => Interlocked.Add(ref _purged, rows);
}
