using CivicLens.Domain.Tracking;

namespace CivicLens.Domain.Tests.Tracking;

public sealed class TrackerOptionsTests
{
    [Fact]
    public void Default_IsValidAndFollowsTheDesign()
    {
        var o = TrackerOptions.Default;
        o.Validate();
        Assert.Equal((0.45f, 0.15f, 0.5f), (o.HighScoreThreshold, o.LowScoreThreshold, o.NewTrackThreshold));
        Assert.Equal((0.2f, 0.5f, 0.3f), (o.MatchIouThreshold, o.SecondStageIouThreshold, o.UnconfirmedIouThreshold));
        Assert.Equal(TimeSpan.FromSeconds(2), o.MaxLostTime);
        Assert.Equal(2, o.MinHitsToConfirm);
        Assert.True(o.ClassAware);
    }

    public static TheoryData<TrackerOptions, string, string> Invalid => new()
    {
        { new TrackerOptions { LowScoreThreshold = 0.6f }, "LowScoreThreshold", "must not exceed HighScoreThreshold" },
        { new TrackerOptions { NewTrackThreshold = 0.3f }, "NewTrackThreshold", "must be at least HighScoreThreshold" },
        { new TrackerOptions { MatchIouThreshold = 1.5f }, "MatchIouThreshold", "between 0 and 1" },
        { new TrackerOptions { SecondStageIouThreshold = float.NaN }, "SecondStageIouThreshold", "between 0 and 1" },
        { new TrackerOptions { HighScoreThreshold = -0.1f, LowScoreThreshold = -0.2f }, "HighScoreThreshold", "between 0 and 1" },
        { new TrackerOptions { MaxLostTime = TimeSpan.FromSeconds(-1) }, "MaxLostTime", "must not be negative" },
        { new TrackerOptions { MinHitsToConfirm = 0 }, "MinHitsToConfirm", "at least 1" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Constructor_InvalidOptions_ThrowsNamingTheSetting(TrackerOptions options, string setting, string reason)
    {
        var ex = Assert.Throws<ArgumentException>(() => new ObjectTracker(options));
        Assert.Equal(setting, ex.ParamName);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }
}
