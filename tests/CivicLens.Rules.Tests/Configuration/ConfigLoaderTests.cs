using CivicLens.Domain.Detection;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Configuration;

public class ConfigLoaderTests
{
    private const string Camera = """
        cameras:
          - id: cam1
            resolution: [640, 480]
            zones:
              - id: road
                polygon: [[10, 10], [300, 10], [300, 200], [10, 200]]
            lines:
              - id: door
                from: [100, 0]
                to: [100, 400]
                in_point: [200, 100]
            rules:
        """;

    /// <summary>The camera above with these rules (written at list indent 0) under its <c>rules:</c>.</summary>
    private static string WithRules(string rules) => Camera + "\n" + string.Join("\n", rules.Split('\n').Select(l => "    " + l));

    private static ConfigError Single(string yaml)
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "cams.yaml"));
        return Assert.Single(ex.Errors);
    }

    [Fact]
    public void LoadFile_BundledSample_LoadsEveryRuleOfTheSampleCamera()
    {
        var config = ConfigLoader.LoadFile(Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"));

        var camera = Assert.Single(config.Cameras);
        Assert.Equal("vtest", camera.Id);
        Assert.Equal((768, 576), (camera.Width, camera.Height));
        Assert.Equal(["works-area", "lawn", "service-road", "plaza"], camera.Zones.Select(z => z.Id));
        Assert.Contains(camera.Rules, r => r is StationaryVehicleRuleConfig { After.TotalSeconds: 30 });
        Assert.Contains(camera.Rules, r => r is OccupancyRuleConfig { Threshold: 6 });
        Assert.Equal("Europe/London", config.TimeZone.Id);
        Assert.Equal(TimeSpan.FromDays(30), camera.Retention);
        Assert.Empty(camera.MissingAccountability());
        // The whole file is also valid against the bundled COCO model's labels.
        _ = new CameraRuleEngine(camera, config, ModelLabels.Coco80, new SignalBoard(config.Signals));
    }

    [Theory]
    [InlineData("    fix_within: 4h\n", "fix_within", "shorter than the default acknowledge_within (8 h)")]
    [InlineData("    acknowledge_within: 6h\n    fix_within: 4h\n", "acknowledge_within", "longer than fix_within")]
    public void Parse_CategoryToBeAcknowledgedAfterItIsDueToBeFixed_IsRefused_NamingTheField(string times, string field, string says)
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("categories:\n  - id: waste\n" + times, "cams.yaml"));

        // The other error is the missing cameras list.
        var error = Assert.Single(ex.Errors, e => e.Field.StartsWith("categories", StringComparison.Ordinal));

        Assert.Equal(field, error.Field.Split('.')[^1]);
        Assert.Contains(says, error.Message);
    }

    [Fact]
    public void Parse_UnknownKey_NamesFileLineAndField()
    {
        var error = Single(WithRules("""

              - id: parking
                type: stationary-vehicle
                zone: road
                afer: 30s
            """));

        Assert.Equal("cams.yaml", error.File);
        Assert.Equal(17, error.Line);
        Assert.Equal("cameras[0].rules[0].afer", error.Field);
        Assert.Contains("unknown key", error.Message);
        Assert.Contains("after", error.Message);
    }

    [Fact]
    public void Parse_SelfIntersectingPolygon_IsRefused()
    {
        var error = Single("""
            cameras:
              - id: cam1
                resolution: [640, 480]
                zones:
                  - id: bowtie
                    polygon: [[0, 0], [100, 100], [100, 0], [0, 100]]
            """);

        Assert.Equal("cameras[0].zones[0].polygon", error.Field);
        Assert.Contains("edges cross", error.Message);
        Assert.Equal(6, error.Line);
    }

    [Fact]
    public void Parse_ZoneOutsideTheFrame_IsRefused()
    {
        var error = Single("""
            cameras:
              - id: cam1
                resolution: [640, 480]
                zones:
                  - id: big
                    polygon: [[0, 0], [700, 0], [700, 100]]
            """);

        Assert.Contains("outside the 640x480 frame", error.Message);
    }

    [Fact]
    public void Parse_RuleOnUnknownZone_ListsTheKnownZones()
    {
        var error = Single(WithRules("""

              - id: entry
                type: zone-entry
                zone: raod
            """));

        Assert.Equal("cameras[0].rules[0].zone", error.Field);
        Assert.Contains("unknown zone 'raod'", error.Message);
        Assert.Contains("road", error.Message);
    }

    [Theory]
    [InlineData("threshold: 0", "threshold", "out of range")]
    [InlineData("threshold: 2.5", "threshold", "whole number")]
    [InlineData("threshold: 5\n    for: -3s", "for", "duration")]
    [InlineData("threshold: 5\n    min_score: 1.5", "min_score", "out of range")]
    public void Parse_ImpossibleThreshold_IsRefused(string keys, string field, string message)
    {
        var error = Single(WithRules("\n  - id: crowd\n    type: occupancy\n    zone: road\n    " + keys));

        Assert.Equal($"cameras[0].rules[0].{field}", error.Field);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Parse_DwellOnPeople_IsRefusedBecausePeopleAreOnlyCounted()
    {
        var error = Single(WithRules("""

              - id: loiter
                type: zone-entry
                zone: road
                classes: [person]
                dwell: 5m
            """));

        Assert.Equal("cameras[0].rules[0].dwell", error.Field);
        Assert.Contains("people are counted, never timed", error.Message);
    }

    [Fact]
    public void Parse_StationaryRuleOnPeople_IsRefused()
    {
        var error = Single(WithRules("""

              - id: still
                type: stationary-vehicle
                zone: road
                classes: [car, person]
            """));

        Assert.Contains("not a vehicle", error.Message);
    }

    [Fact]
    public void Parse_SeveralProblems_AreAllReportedAtOnce()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(WithRules("""

              - id: a
                type: teleport
              - id: b
                type: line-crossing
                line: window
                direction: sideways
            """), "cams.yaml"));

        Assert.Equal(3, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown rule type 'teleport'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown line 'window'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Field.EndsWith("direction", StringComparison.Ordinal));
        Assert.Contains("cams.yaml:", ex.Message);
    }

    [Fact]
    public void Parse_SyntaxError_ReportsItsLine()
    {
        var error = Single("cameras:\n  - id: cam1\n    resolution: [640, 480\n");

        Assert.Equal("(syntax)", error.Field);
        Assert.True(error.Line >= 3, error.ToString());
    }

    [Fact]
    public void Parse_LineWithInPointOnIt_IsRefused()
    {
        var error = Single("""
            cameras:
              - id: cam1
                resolution: [640, 480]
                lines:
                  - id: l
                    from: [0, 0]
                    to: [100, 100]
                    in_point: [50, 50]
            """);

        Assert.Contains("lies on the line", error.Message);
    }

    [Theory]
    // Past the frame: one error, and the rule on the line finds it (no second "unknown line" error).
    [InlineData("[100, 0]", "[100, 900]", "outside the 640x480 frame", false)]
    // No line at all: it is not defined, so the rule on it is refused too.
    [InlineData("[100, 100]", "[100, 101]", "two distinct end points", true)]
    public void Parse_BadLine_IsRefused_AndOnlyAShapelessOneLeavesItsRuleWithoutALine(string from, string to, string says, bool ruleRefused)
    {
        var yaml = $$"""
            cameras:
              - id: cam1
                resolution: [640, 480]
                lines:
                  - id: door
                    from: {{from}}
                    to: {{to}}
                    in_point: [200, 100]
                rules:
                  - id: entries
                    type: line-crossing
                    line: door
            """;
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "cams.yaml"));

        Assert.Contains(ex.Errors, e => e.Message.Contains(says, StringComparison.Ordinal));
        Assert.Equal(ruleRefused, ex.Errors.Any(e => e.Field.StartsWith("cameras[0].rules[0]", StringComparison.Ordinal)));
    }

    [Fact]
    public void Parse_UnknownTimeZoneAndSignal_AreRefused()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("timezone: Mars/Olympus\n" + WithRules("""

              - id: red
                type: red-crossing
                zone: road
                signal: light-7
            """), "cams.yaml"));

        Assert.Contains(ex.Errors, e => e.Field == "timezone");
        Assert.Contains(ex.Errors, e => e.Message.Contains("unknown signal 'light-7'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_SignalWithUnknownClock_IsRefused()
    {
        var error = Single("""
            signals:
              - id: light
                cycle: 60s
                clock: sundial
                red:
                  - {from: 0s, to: 30s}
            cameras:
              - id: cam1
                resolution: [640, 480]
            """);

        Assert.Equal("signals[0].clock", error.Field);
        Assert.Contains("stream (recorded footage) or wall", error.Message);
    }

    [Fact]
    public void Engine_RuleOnLabelTheModelLacks_NamesRuleAndLabel()
    {
        var config = ConfigLoader.Parse(WithRules("""

              - id: scooters
                type: line-crossing
                line: door
                classes: [person, e-scooter]
            """), "cams.yaml");

        var ex = Assert.Throws<ConfigException>(() =>
            new CameraRuleEngine(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals)));

        var error = Assert.Single(ex.Errors);
        Assert.Equal("cams.yaml", error.File);
        Assert.Equal(14, error.Line);
        Assert.Contains("'e-scooter'", error.Message);
        Assert.Contains("scooters", error.Message);
    }

    [Fact]
    public void Engine_PpeRuleWithDefaultModel_RefusesToStartAndSaysWhy()
    {
        var config = ConfigLoader.Parse(WithRules("""

              - id: hardhats
                type: ppe
                require: [helmet, vest]
            """), "cams.yaml");

        var ex = Assert.Throws<ConfigException>(() =>
            new CameraRuleEngine(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals)));

        var message = Assert.Single(ex.Errors).Message;
        Assert.Contains("'helmet', 'vest'", message);
        Assert.Contains("cannot see protective equipment", message);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("6m", 360)]
    [InlineData("1h30m", 5400)]
    [InlineData("500ms", 0.5)]
    [InlineData("2.5", 2.5)]
    [InlineData("1m30s", 90)]
    [InlineData("30d", 2_592_000)]
    public void Durations_OperatorFormats_Parse(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(seconds, value.TotalSeconds, 3);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("5 minutes")]
    [InlineData("")]
    public void Durations_Nonsense_IsRejected(string text) => Assert.False(Durations.TryParse(text, out _));
}
