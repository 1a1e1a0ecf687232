namespace CivicLens.Cluster.Node;

/// <summary>
/// How far the hubs' clock is from this node's, measured as NTP does: the hub's time against the midpoint of the
/// round trip, keeping the sample with the shortest trip of the last few (the least disturbed). Events are stamped
/// with this node's clock; the hub corrects them by <see cref="Offset"/>, so a node without NTP, or with a clock
/// skewed by minutes, still files its events at the right time.
/// </summary>
public sealed class NodeClock
{
    /// <summary>Below this the clocks agree as far as a round trip can tell: no correction (times do not jitter).</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    private const int Samples = 5;
    private readonly Queue<(TimeSpan Trip, TimeSpan Offset)> _samples = new();
    private readonly Lock _gate = new();

    /// <summary>The hubs' clock minus this node's; zero until measured, or while within <see cref="Tolerance"/>.</summary>
    public TimeSpan Offset { get; private set; }

    /// <summary>Whether a hub answered once (events wait for it, so none is filed at a skewed time).</summary>
    public bool Measured { get; private set; }

    /// <summary>Adds one measurement: this node's clock when the call left and when the answer came, and the hub's answer.</summary>
    public TimeSpan Add(DateTimeOffset sent, DateTimeOffset hub, DateTimeOffset received)
    {
        var trip = received - sent;
        if (trip < TimeSpan.Zero) return Offset;
        var offset = hub - (sent + trip / 2);
        lock (_gate)
        {
            _samples.Enqueue((trip, offset));
            while (_samples.Count > Samples) _samples.Dequeue();
            var best = _samples.MinBy(s => s.Trip).Offset;
            Offset = best.Duration() < Tolerance ? TimeSpan.Zero : best;
            Measured = true;
            return Offset;
        }
    }
}
