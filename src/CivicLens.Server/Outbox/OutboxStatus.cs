using System.Diagnostics.Metrics;

namespace CivicLens.Server.Outbox;

/// <summary>What the dispatcher has done since the start (for health pages, tests and the <c>CivicLens.Outbox</c> metrics).</summary>
public sealed class OutboxStatus
{
    private IReadOnlyDictionary<string, long> _backlog = new Dictionary<string, long>();
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

    /// <summary>
    /// Undelivered messages per channel, as the dispatcher last counted them (every tenth poll interval; the metrics
    /// read this, never the store). Configured channels with none show 0.
    /// </summary>
    public IReadOnlyDictionary<string, long> Backlog => Volatile.Read(ref _backlog);

    public OutboxStatus(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create("CivicLens.Outbox");
        meter.CreateObservableGauge("civiclens.outbox.backlog", () => Backlog.Select(b => new Measurement<long>(b.Value, new KeyValuePair<string, object?>("channel", b.Key))),
            "{message}", "Undelivered outbox messages by channel, as last counted by the dispatcher");
        meter.CreateObservableCounter("civiclens.outbox.delivered", () => Delivered, "{message}", "Outbox messages delivered since the start (a re-delivery after a crash counts again)");
        meter.CreateObservableCounter("civiclens.outbox.failed_attempts", () => FailedAttempts, "{attempt}", "Failed outbox delivery attempts since the start");
    }

    internal void Counted(IReadOnlyDictionary<string, long> backlog) => Volatile.Write(ref _backlog, backlog);

    internal void Round(int due, int delivered, int failed)
    {
        DueAtLastRound = due;
        Interlocked.Add(ref _delivered, delivered);
        Interlocked.Add(ref _failedAttempts, failed);
        Interlocked.Increment(ref _rounds);
    }

    internal void Purge(int rows) => Interlocked.Add(ref _purged, rows);
}
