using CivicLens.Cluster.Node;

namespace CivicLens.Cluster.Tests.Node;

public sealed class NodeClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_node_three_minutes_ahead_measures_minus_three_minutes_from_the_midpoint_of_the_trip()
    {
        var clock = new NodeClock();
        Assert.False(clock.Measured);
        // Node's clock: sent at T0, answer back 200 ms later; the hub's clock read (at the midpoint) says 3 minutes earlier.
        var offset = clock.Add(T0, T0.AddMinutes(-3).AddMilliseconds(100), T0.AddMilliseconds(200));
        Assert.True(clock.Measured);
        Assert.Equal(TimeSpan.FromMinutes(-3), offset);
    }

    [Fact]
    public void The_shortest_trip_of_the_last_samples_wins_and_small_differences_are_no_correction()
    {
        var clock = new NodeClock();
        // A trip held up 4 s one way looks like a 2 s skew; the quick trip beside it says the clocks agree.
        clock.Add(T0, T0.AddSeconds(4), T0.AddSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(2), clock.Offset);
        clock.Add(T0.AddSeconds(10), T0.AddSeconds(10).AddMilliseconds(20), T0.AddSeconds(10).AddMilliseconds(40));
        Assert.Equal(TimeSpan.Zero, clock.Offset);
    }

    [Fact]
    public void A_trip_that_ends_before_it_starts_is_ignored()
    {
        var clock = new NodeClock();
        clock.Add(T0, T0, T0.AddSeconds(-1));
        Assert.False(clock.Measured);
    }
}
