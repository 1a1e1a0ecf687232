using CivicLens.Rules.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Rules.Tests.Evaluators;

public class SignalFeedTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly SignalBoard _board = new([new SignalConfig { Id = "ped-4", MaxAge = TimeSpan.FromSeconds(5) }, new SignalConfig { Id = "fixed", Cycle = TimeSpan.FromSeconds(60), Red = [(TimeSpan.Zero, TimeSpan.FromSeconds(30))] }]);

    [Fact]
    public void Apply_StateLines_SetTheSignalUntilItGoesStale()
    {
        var feed = new SignalFeed(_board, _time);

        Assert.Null(feed.Apply("""{"signal":"ped-4","state":"red"}"""));
        Assert.Equal(SignalState.Red, _board.Read("ped-4", TimeSpan.Zero, T0.AddSeconds(2)).State);
        Assert.Null(feed.Apply("""{"signal":"ped-4","state":"green","at":"2026-11-23T08:00:03Z"}"""));
        Assert.Equal(SignalState.Green, _board.Read("ped-4", TimeSpan.Zero, T0.AddSeconds(4)).State);

        // Nothing for longer than max_age: unknown, never the last state guessed on.
        Assert.Equal(SignalState.Unknown, _board.Read("ped-4", TimeSpan.Zero, T0.AddSeconds(9)).State);
    }

    [Theory]
    [InlineData("red light now", "not JSON")]
    [InlineData("""{"signal":"ped-9","state":"red"}""", "unknown signal 'ped-9'")]
    [InlineData("""{"signal":"ped-4","state":"amber"}""", "red or green")]
    [InlineData("""{"signal":"fixed","state":"red"}""", "follows a schedule")]
    public void Apply_BadLine_IsRejectedWithTheReasonAndChangesNothing(string line, string reason)
    {
        var feed = new SignalFeed(_board, _time);

        var problem = feed.Apply(line);

        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        Assert.Equal(1, feed.Rejected);
        Assert.Equal(SignalState.Unknown, _board.Read("ped-4", TimeSpan.Zero, T0).State);
    }

    [Fact]
    public void Read_WallClockCycle_FollowsLocalTimeOfDayNotStreamTime()
    {
        // Red for the first 30 s of every minute, local time in Berlin (UTC+1 in November).
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var board = new SignalBoard([new SignalConfig { Id = "p", Cycle = TimeSpan.FromSeconds(60), Red = [(TimeSpan.Zero, TimeSpan.FromSeconds(30))], WallClock = true }], berlin);

        Assert.Equal(SignalState.Red, board.Read("p", TimeSpan.FromSeconds(45), T0.AddSeconds(10)).State);
        Assert.Equal(SignalState.Green, board.Read("p", TimeSpan.FromSeconds(10), T0.AddSeconds(40)).State);
        Assert.Equal(TimeSpan.FromSeconds(10), board.Read("p", TimeSpan.Zero, T0.AddSeconds(10)).HeldFor);
    }

    [Fact]
    public async Task RunAsync_Stream_AppliesGoodLinesAndReportsBadOnes()
    {
        var feed = new SignalFeed(_board, _time);
        var rejected = new List<string>();

        await feed.RunAsync(new StringReader("{\"signal\":\"ped-4\",\"state\":\"red\"}\n\n{oops\n"), rejected.Add, CancellationToken.None);

        Assert.Single(rejected);
        Assert.Equal(SignalState.Red, _board.Read("ped-4", TimeSpan.Zero, T0).State);
    }
}
