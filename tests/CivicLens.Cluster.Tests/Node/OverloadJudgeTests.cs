using CivicLens.Cluster.Node;

namespace CivicLens.Cluster.Tests.Node;

public sealed class OverloadJudgeTests
{
    [Fact]
    public void Sustained_drops_give_back_the_camera_that_dropped_most_a_burst_gives_back_nothing()
    {
        var judge = new OverloadJudge();
        long a = 0, b = 0, da = 0, db = 0;
        (string, long, long)[] Window(long readEach, long dropA, long dropB)
        {
            a += readEach;
            b += readEach;
            da += dropA;
            db += dropB;
            return [("cam-a", a, da), ("cam-b", b, db)];
        }

        // Keeping up, then one bad window between good ones: no camera goes.
        Assert.Null(judge.Judge(Window(10, 0, 0)));
        Assert.Null(judge.Judge(Window(10, 5, 0)));
        Assert.Null(judge.Judge(Window(10, 0, 0)));
        // Three windows in a row behind: the worse camera goes, once, and the count starts again.
        Assert.Null(judge.Judge(Window(10, 1, 3)));
        Assert.Null(judge.Judge(Window(10, 1, 3)));
        var verdict = judge.Judge(Window(10, 1, 3));
        Assert.Equal("cam-b", verdict?.Camera);
        Assert.Contains("dropped 20%", verdict?.Reason, StringComparison.Ordinal);
        Assert.Null(judge.Judge(Window(10, 1, 3)));
    }

    [Fact]
    public void Too_few_frames_are_not_judged_and_a_restarted_run_counts_from_zero()
    {
        var judge = new OverloadJudge();
        for (var i = 0; i < 5; i++) Assert.Null(judge.Judge([("cam-a", (i + 1) * 5, (i + 1) * 5)]));
        // The run restarted (counters back near zero): its new counters are this window's, not a negative delta.
        Assert.Null(judge.Judge([("cam-a", 30, 0)]));
        Assert.Null(judge.Judge([("cam-a", 60, 0)]));
    }
}
