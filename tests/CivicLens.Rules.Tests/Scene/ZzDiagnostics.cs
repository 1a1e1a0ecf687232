using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Health;
using CivicLens.TestSupport;
using Xunit.Abstractions;

namespace CivicLens.Rules.Tests.Scene;

public sealed class ZzDiagnostics(ITestOutputHelper output)
{
    [Theory]
    [InlineData("plain")]
    [InlineData("object")]
    [InlineData("covered")]
    [InlineData("moved")]
    [InlineData("defocused")]
    [InlineData("darkened")]
    public async Task Diag(string kind)
    {
        var dir = "/tmp/sc";
        var clip = kind switch
        {
            "plain" => TestAssets.SampleVideo,
            "object" => await SceneClips.ObjectDroppedAsync(dir, 20, 50, 79.5),
            "covered" => await SceneClips.CoveredAsync(dir, 30, 50, 60),
            "moved" => await SceneClips.MovedAsync(dir, 30, 50, 60),
            "defocused" => await SceneClips.DefocusedAsync(dir, 30, 50, 60),
            _ => await SceneClips.DarkenedAsync(dir, 40, 79.5),
        };
        var cfg = FootageReplay.Config("""
            - {id: plaza-change, type: scene-change, zone: plaza, after: 10s}
            - {id: lawn-change, type: scene-change, zone: lawn, after: 10s}
            """);
        var tamper = new TamperMonitor("vtest", new HealthConfig());
        var lines = new List<string>();
        var events = await FootageReplay.RunAsync(clip, cfg, observe: (engine, f, ev) =>
        {
            tamper.Process(f, ev);
            var ms = (long)f.StreamTime.TotalMilliseconds;
            if (ms % 1000 != 0) return;
            var p = (SceneChangeRule)engine.Rules[0];
            var l = (SceneChangeRule)engine.Rules[1];
            var m = tamper.LastMeasures;
            lines.Add($"{f.StreamTime.TotalSeconds,5:0} plaza {p.ChangedFraction:0.0000} lawn {l.ChangedFraction:0.0000} | {tamper.Current} align {m.Alignment:0.00} sharp {m.Sharpness:0.00} contrast {m.Contrast:0.00}");
        });
        foreach (var l in lines) output.WriteLine(l);
        foreach (var e in events) output.WriteLine($"{e.StreamTime.TotalSeconds:0.0} {e.Kind} {e.Phase} {e.Rule} {e.Detail} {e.Box} {e.Duration} {e.Confidence}");
    }
}
