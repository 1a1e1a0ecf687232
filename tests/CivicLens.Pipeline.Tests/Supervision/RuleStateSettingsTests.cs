using CivicLens.Pipeline.Supervision;
using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline.Tests.Supervision;

/// <summary>Where the cameras' rules keep scene-change references, and for how long.</summary>
public sealed class RuleStateSettingsTests
{
    [Fact]
    public void RuleState_EvidenceFolderOnly_KeptInItsRuleStateSubfolderForTheEventRetention()
    {
        var settings = new AnalysisSettings { ModelsDirectory = "/models", SnapshotDirectory = "/data/snapshots" };

        Assert.Equal(new RuleStateSettings(Path.Combine("/data/snapshots", "rule-state"), TimeSpan.FromDays(365)), settings.RuleState);
    }

    [Fact]
    public void RuleState_ItsOwnFolderAndRetention_Win()
    {
        var settings = new AnalysisSettings
        {
            ModelsDirectory = "/models",
            SnapshotDirectory = "/data/snapshots",
            RuleStateDirectory = "/state",
            RuleStateRetention = TimeSpan.FromDays(30),
        };

        Assert.Equal(new RuleStateSettings("/state", TimeSpan.FromDays(30)), settings.RuleState);
    }

    [Fact]
    public void RuleState_NoFolderAtAll_KeepsNothing() => Assert.Null(new AnalysisSettings { ModelsDirectory = "/models" }.RuleState);
}
