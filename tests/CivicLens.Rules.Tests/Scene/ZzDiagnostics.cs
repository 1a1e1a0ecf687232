using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Health;
using CivicLens.TestSupport;
using Xunit.Abstractions;

namespace CivicLens.Rules.Tests.Scene;

public sealed class ZzDiagnostics(ITestOutputHelper output)
{
    [Fact]
    public async Task Timing()
    {
        var cfg = FootageReplay.Config("""
            - {id: plaza-change, type: scene-change, zone: plaza, after: 10s}
            - {id: lawn-change, type: scene-change, zone: lawn, after: 10s}
            """);
        var tamper = new TamperMonitor("vtest", new HealthConfig());
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var inEngine = TimeSpan.Zero; var inTamper = TimeSpan.Zero;
        var frames = 0;
        var minAlign = 1f; var minSharp = 9f;
        await FootageReplay.RunAsync(TestAssets.SampleVideo, cfg, observe: (engine, f, ev) =>
        {
            frames++;
            if (tamper.Learned) { minAlign = MathF.Min(minAlign, tamper.LastMeasures.Alignment); minSharp = MathF.Min(minSharp, tamper.LastMeasures.Sharpness); }
            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            tamper.Process(f, ev);
            inTamper += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
            t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            engine.Process(f, ev);
            inEngine += System.Diagnostics.Stopwatch.GetElapsedTime(t0);
        });
        output.WriteLine($"minAlign {minAlign:0.000} minSharp {minSharp:0.000}");
        output.WriteLine($"frames {frames} total {sw.Elapsed.TotalSeconds:0.00}s engine(2 rules, again) {inEngine.TotalSeconds:0.00}s tamper {inTamper.TotalSeconds:0.00}s");
        var sw2 = System.Diagnostics.Stopwatch.StartNew();
        await FootageReplay.RunAsync(TestAssets.SampleVideo, FootageReplay.Config("- {id: x, type: zone-entry, zone: lawn}"));
        output.WriteLine($"decode only {sw2.Elapsed.TotalSeconds:0.00}s");
    }

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
            _ => await SceneClips.ObjectDroppedAsync(dir, 20, null, 60, 25),
        };
        var cfg = FootageReplay.Config("""
            - {id: plaza-change, type: scene-change, zone: plaza, after: 10s}
            - {id: lawn-change, type: scene-change, zone: lawn, after: 10s}
            """);
        var tamper = new TamperMonitor("vtest", new HealthConfig());
        var lines = new List<string>();
        var maxes = new float[6];
        var mins = new float[] { 9, 9, 9 };
        var events = await FootageReplay.RunAsync(clip, cfg, observe: (engine, f, ev) =>
        {
            tamper.Process(f, ev);
            var ms = (long)f.StreamTime.TotalMilliseconds;
            var q = (SceneChangeRule)engine.Rules[0];
            var w = (SceneChangeRule)engine.Rules[1];
            maxes[0] = Math.Max(maxes[0], q.ChangedFraction); maxes[1] = Math.Max(maxes[1], w.ChangedFraction);
            maxes[2] = Math.Max(maxes[2], q.LastDisturbance.Cells); maxes[3] = Math.Max(maxes[3], q.LastDisturbance.Edges);
            maxes[4] = Math.Max(maxes[4], w.LastDisturbance.Cells); maxes[5] = Math.Max(maxes[5], w.LastDisturbance.Edges);
            var tm = tamper.LastMeasures;
            if (tamper.Learned && tamper.Current == TamperKind.None) { mins[0] = Math.Min(mins[0], tm.Alignment); mins[1] = Math.Min(mins[1], tm.Sharpness); mins[2] = Math.Min(mins[2], tm.Contrast); }
            if (ms % 1000 != 0) return; var pr = (SceneChangeRule)engine.Rules[0];
            var p = (SceneChangeRule)engine.Rules[0];
            var l = (SceneChangeRule)engine.Rules[1];
            var m = tamper.LastMeasures;
            lines.Add($"{f.StreamTime.TotalSeconds,5:0} dist {q.LastDisturbance.Cells:0.00}/{q.LastDisturbance.Edges:0.00} {w.LastDisturbance.Cells:0.00}/{w.LastDisturbance.Edges:0.00} plaza {p.ChangedFraction:0.0000} lawn {l.ChangedFraction:0.0000} | {tamper.Current} align {m.Alignment:0.00} sharp {m.Sharpness:0.00} contrast {m.Contrast:0.00}");
        });
        foreach (var l in lines) output.WriteLine(l);
        output.WriteLine("MAX " + string.Join(" ", maxes.Select(m => m.ToString("0.000"))) + " MIN(ok) " + string.Join(" ", mins.Select(m => m.ToString("0.000"))));
        foreach (var e in events) output.WriteLine($"{e.StreamTime.TotalSeconds:0.0} {e.Kind} {e.Phase} {e.Rule} {e.Detail} {e.Box} {e.Duration} {e.Confidence}");
    }
}
