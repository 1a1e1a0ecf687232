using CivicLens.Domain.Detection;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Scene;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// Fix verification on the real footage: a scene-change incident keeps its clean reference, and only the zone seen
/// matching it again for <c>clear_after</c> ends it <c>cleared</c> (what closes a waiting case). A stream restart (the
/// looped sample starting over), a schedule's end, a relearn after the view changed, a covered lens and a process
/// restart each leave the reference in place and never confirm by themselves. The object is put down on the lawn at
/// 4 s and the change starts at about 10 s (learn 3 s, after 5 s).
/// </summary>
public sealed class SceneVerificationFootageTests(SceneVerificationFootageTests.Clips clips) : IClassFixture<SceneVerificationFootageTests.Clips>
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static CivicLensConfig Config(string clearAfter, string extra = "") =>
        FootageReplay.Config($"- {{id: lawn-change, type: scene-change, zone: lawn, after: 5s, learn: 3s, clear_after: {clearAfter}{extra}}}");

    private static CameraRuleEngine Engine(CivicLensConfig config, string? state, TimeSpan? retention = null) =>
        new(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals),
            state is null ? null : new RuleStateSettings(state, retention ?? RuleStateSettings.DefaultRetention));

    private static Func<TimeSpan, DateTimeOffset> From(DateTimeOffset start) => t => start + t;

    private static RuleEvent Start(List<RuleEvent> events) => Assert.Single(events, e => e.Kind == "scene.change" && e.Phase == EventPhase.Start);

    private static List<RuleEvent> Ends(List<RuleEvent> events, Guid incident) =>
        events.Where(e => e.Kind == "scene.change" && e.Phase == EventPhase.End && e.IncidentId == incident).ToList();

    [Fact]
    public void Config_ClearAfter_DefaultsToAMinute_ReadFromTheRule_RefusedUnderASecond()
    {
        static SceneChangeRuleConfig Rule(string extra) => (SceneChangeRuleConfig)FootageReplay.Config($"- {{id: a, type: scene-change, zone: lawn{extra}}}").Cameras[0].Rules[0];

        Assert.Equal(TimeSpan.FromMinutes(1), Rule("").ClearAfter);
        Assert.Equal(TimeSpan.FromSeconds(90), Rule(", clear_after: 90s").ClearAfter);
        var error = Assert.Throws<ConfigException>(() => Rule(", clear_after: 0s"));
        Assert.Contains("clear_after", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Restart_OnlyTheZoneSeenCleanForClearAfterConfirms_TheLoopedSampleStartingOverDoesNot(bool cleanedWhileDown)
    {
        using var dir = TestAssets.CreateTempDirectory();
        var clip = clips.ObjectLeft;
        // The sample camera loops its file: after a restart the lawn shows clean for 4 s, then the object again.
        // A crew that cleaned up while the stream was down: the lawn stays clean.
        var after = cleanedWhileDown ? clips.Plain : clip;
        var engine = Engine(Config("10s"), Path.Combine(dir.Path, "state"));
        var rule = (SceneChangeRule)engine.Rules[0];
        var events = new List<RuleEvent>();

        var last = await FootageReplay.PlayAsync(engine, clip, events, From(FootageReplay.Epoch));
        var start = Start(events);
        Assert.InRange(start.StreamTime.TotalSeconds, 9.0, 11.0);
        var longestMatch = TimeSpan.Zero;
        await FootageReplay.PlayAsync(engine, after, events, From(last + Second), restart: true,
            observe: (_, _) => longestMatch = longestMatch > rule.LastReferenceCheck.Matched ? longestMatch : rule.LastReferenceCheck.Matched);

        var ends = Ends(events, start.Id);
        Assert.Equal("stream ended or restarted", ends[0].Detail);
        if (cleanedWhileDown)
        {
            // Ten seconds of clean lawn into the new run: the same incident ends cleared, with its own event id.
            Assert.Equal(2, ends.Count);
            Assert.Equal(SceneChangeRule.Cleared, ends[1].Detail);
            Assert.InRange(ends[1].StreamTime.TotalSeconds, 10.0, 18.0);
            Assert.NotEqual(ends[0].Id, ends[1].Id);
            Assert.DoesNotContain(start.Id, rule.KeptReferences);
        }
        else
        {
            Assert.Single(ends);
            Assert.DoesNotContain(events, e => e.Detail == SceneChangeRule.Cleared);
            Assert.Contains(start.Id, rule.KeptReferences);
            // The clean start of the loop was seen as clean, just not for long enough.
            Assert.InRange(longestMatch.TotalSeconds, 2.0, 5.0);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ScheduleEnd_EndsWithoutConfirming_OnlyTheZoneSeenCleanAfterwardsConfirms(bool cleanedWhileOff)
    {
        using var dir = TestAssets.CreateTempDirectory();
        // Off the schedule from 20 s to 26 s of the clip (09:01 to 09:02); the object is taken away at 22 s, or stays.
        var clip = await SceneClips.ObjectDroppedAsync(dir.Path, from: 4, until: cleanedWhileOff ? 22 : null, seconds: 40);
        var config = Config("8s", """, schedule: [{days: [daily], from: "09:00", to: "09:01"}, {days: [daily], from: "09:02", to: "10:00"}]""");
        var engine = Engine(config, Path.Combine(dir.Path, "state"));
        var events = new List<RuleEvent>();
        var day = FootageReplay.Epoch; // 09:00
        DateTimeOffset Clock(TimeSpan t) => t.TotalSeconds switch
        {
            < 20 => day.AddSeconds(40) + t,
            < 26 => day.AddMinutes(1) + (t - TimeSpan.FromSeconds(20)) * 10,
            _ => day.AddMinutes(2) + (t - TimeSpan.FromSeconds(26)),
        };

        await FootageReplay.PlayAsync(engine, clip, events, Clock);

        var start = Start(events);
        var ends = Ends(events, start.Id);
        Assert.Equal("outside the rule's schedule", ends[0].Detail);
        Assert.InRange(ends[0].StreamTime.TotalSeconds, 20.0, 20.5);
        if (cleanedWhileOff)
        {
            // Back on schedule at 26 s the lawn is clean: 8 s of it confirm.
            Assert.Equal(2, ends.Count);
            Assert.Equal(SceneChangeRule.Cleared, ends[1].Detail);
            Assert.InRange(ends[1].StreamTime.TotalSeconds, 33.5, 40.0);
        }
        else
        {
            Assert.Single(ends);
            Assert.DoesNotContain(events, e => e.Detail == SceneChangeRule.Cleared);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Relearn_ViewKnockedAsideAMinute_ConfirmsOnlyWhenTheZoneIsBackToItsReference(bool takenAway)
    {
        using var dir = TestAssets.CreateTempDirectory();
        // The camera looks elsewhere from 11 s to 73 s: after 60 s of that the rule learns its scene afresh. Meanwhile
        // the object is taken away at 40 s, or stays.
        var clip = await SceneClips.ObjectThenViewAsync(dir.Path, "knocked.mp4", from: 4, until: takenAway ? 40 : null, seconds: 79, SceneClips.Knock(11, 73));
        var engine = Engine(Config("3s"), Path.Combine(dir.Path, "state"));
        var events = new List<RuleEvent>();

        var rule = (SceneChangeRule)engine.Rules[0];
        var knocked = new List<ZoneVerdict>();
        await FootageReplay.PlayAsync(engine, clip, events, From(FootageReplay.Epoch), observe: (_, f) =>
        {
            if (f.StreamTime.TotalSeconds is > 12 and < 72.8) knocked.Add(rule.LastReferenceCheck.Comparison.Verdict);
        });

        var start = Start(events);
        var ends = Ends(events, start.Id);
        Assert.Equal("view changed; scene learned afresh", ends[0].Detail);
        Assert.InRange(ends[0].StreamTime.TotalSeconds, 71.0, 73.0);
        // While the camera looked elsewhere the reference saw another view, never the object gone.
        Assert.All(knocked, v => Assert.Equal(ZoneVerdict.ViewChanged, v));
        if (takenAway)
        {
            // The view is back at 73 s and the lawn matches the reference kept since 10 s.
            Assert.Equal(2, ends.Count);
            Assert.Equal(SceneChangeRule.Cleared, ends[1].Detail);
            Assert.InRange(ends[1].StreamTime.TotalSeconds, 75.5, 79.5);
        }
        else
        {
            // Learned afresh with the object in it, the rule reports nothing new; the reference still sees it.
            Assert.Single(ends);
            Assert.DoesNotContain(events, e => e.Detail == SceneChangeRule.Cleared);
        }
    }

    [Fact]
    public async Task Tamper_LensCoveredAfterTheObjectWentAway_NeverConfirms()
    {
        using var dir = TestAssets.CreateTempDirectory();
        // Covered at 14 s for the rest of the clip; the object goes at 20 s, unseen. At 74 s the rule learns the black
        // view afresh: black matches nothing of the reference, however long it lasts.
        var clip = await SceneClips.ObjectThenViewAsync(dir.Path, "covered.mp4", from: 4, until: 20, seconds: 79, SceneClips.Cover(14, 80));
        var engine = Engine(Config("2s"), Path.Combine(dir.Path, "state"));
        var rule = (SceneChangeRule)engine.Rules[0];
        var events = new List<RuleEvent>();

        await FootageReplay.PlayAsync(engine, clip, events, From(FootageReplay.Epoch));

        var start = Start(events);
        var end = Assert.Single(Ends(events, start.Id));
        Assert.Equal("view changed; scene learned afresh", end.Detail);
        Assert.DoesNotContain(events, e => e.Detail == SceneChangeRule.Cleared);
        Assert.Contains(start.Id, rule.KeptReferences);
    }

    [Fact]
    public async Task ProcessRestart_NewRuleInstanceReadsTheReferenceFromItsFile_AndConfirmsAgainstIt()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var (clip, plain) = (clips.ObjectLeft, clips.Plain);
        var config = Config("8s");
        var state = Path.Combine(dir.Path, "state");
        var events = new List<RuleEvent>();
        var first = Engine(config, state);
        var last = await FootageReplay.PlayAsync(first, clip, events, From(FootageReplay.Epoch));
        var start = Start(events);
        first.Complete(new RuleFrame { StreamTime = TimeSpan.FromSeconds(16), At = last }, events);
        var file = Path.Combine(state, "vtest", $"lawn-change-{start.Id:N}.zref");
        Assert.True(File.Exists(file), $"the reference was not kept in {file}");
        var copy = Path.Combine(dir.Path, "copy");
        Directory.CreateDirectory(Path.Combine(copy, "vtest"));
        File.Copy(file, Path.Combine(copy, "vtest", Path.GetFileName(file)));

        // Without the file a new process has nothing to confirm against.
        var forgetful = new List<RuleEvent>();
        await FootageReplay.PlayAsync(Engine(config, Path.Combine(dir.Path, "empty")), plain, forgetful, From(last + Second));
        Assert.DoesNotContain(forgetful, e => e.Detail == SceneChangeRule.Cleared);

        // A reference older than the retention is deleted unused.
        var late = new List<RuleEvent>();
        await FootageReplay.PlayAsync(Engine(config, copy, retention: TimeSpan.FromHours(1)), plain, late, From(last + TimeSpan.FromHours(2)));
        Assert.DoesNotContain(late, e => e.Detail == SceneChangeRule.Cleared);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(copy, "vtest")));

        // The next process: the lawn is clean; the incident of the last one ends cleared and its file goes.
        var next = new List<RuleEvent>();
        await FootageReplay.PlayAsync(Engine(config, state), plain, next, From(last + Second));
        var cleared = Assert.Single(next, e => e.Kind == "scene.change");
        Assert.Equal((EventPhase.End, SceneChangeRule.Cleared, start.Id), (cleared.Phase, cleared.Detail, cleared.IncidentId));
        Assert.InRange(cleared.StreamTime.TotalSeconds, 8.0, 18.0);
        Assert.False(File.Exists(file), "the reference outlived its confirmation");
    }

    /// <summary>The clips several tests play, made once: the object left on the lawn from 4 s (16 s), and the plain lawn (18 s).</summary>
    public sealed class Clips : IAsyncLifetime
    {
        private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();

        public string ObjectLeft { get; private set; } = "";

        public string Plain { get; private set; } = "";

        public async Task InitializeAsync()
        {
            ObjectLeft = await SceneClips.ObjectDroppedAsync(_dir.Path, from: 4, until: null, seconds: 16);
            Plain = await SceneClips.PlainAsync(_dir.Path, seconds: 18);
        }

        public Task DisposeAsync()
        {
            _dir.Dispose();
            return Task.CompletedTask;
        }
    }
}
