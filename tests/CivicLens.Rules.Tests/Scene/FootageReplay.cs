using CivicLens.Domain.Detection;
using CivicLens.Domain.Tracking;
using CivicLens.Media;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// Plays a clip through a camera's rule engine the way the pipeline does, decoded by the real
/// <see cref="FfmpegFrameSource"/> at 5 fps. No detector runs: every frame is "detected" with no tracks (or scripted
/// ones), so the rules see walkers as raw pixels (in the real pipeline their boxes are masked as well).
/// </summary>
internal static class FootageReplay
{
    public static readonly DateTimeOffset Epoch = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    /// <summary>The sample camera (768x576) with the plaza and lawn zones of samples/vtest.yaml and the given rules.</summary>
    public static CivicLensConfig Config(string rules, bool tamper = false) => ConfigLoader.Parse($$"""
        cameras:
          - id: vtest
            resolution: [768, 576]
            zones:
              - id: plaza
                polygon: [[0, 176], [170, 200], [300, 206], [448, 196], [600, 140], [768, 120], [768, 492], [560, 410], [430, 345], [300, 290], [160, 256], [0, 242]]
              - id: lawn
                polygon: [[0, 242], [160, 256], [300, 290], [430, 345], [560, 410], [768, 492], [768, 576], [0, 576]]
            health:
              tamper: {{(tamper ? "true" : "false")}}
            rules:
        {{string.Join("\n", rules.Split('\n').Select(l => "      " + l))}}
        """, "scene-test.yaml");

    /// <summary>
    /// Runs the whole clip; <paramref name="observe"/> sees every frame after the engine (the frame is released after).
    /// Ends with <see cref="CameraRuleEngine.Complete"/>, as the pipeline does at the end of a file.
    /// </summary>
    public static async Task<List<RuleEvent>> RunAsync(
        string clip, CivicLensConfig config, int? outputWidth = null, Action<CameraRuleEngine, RuleFrame, List<RuleEvent>>? observe = null,
        Func<TimeSpan, TrackedObject[]>? tracks = null)
    {
        var engine = new CameraRuleEngine(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals));
        var events = new List<RuleEvent>();
        var input = new RuleFrame { Detected = true };
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "vtest", Uri = clip, SampleFps = 5, OutputWidth = outputWidth, PoolCapacity = 4 },
            TimeProvider.System, NullLoggerFactory.Instance);
        await Task.Run(async () =>
        {
            while (await source.ReadAsync(CancellationToken.None) is { } frame)
            {
                try
                {
                    input.Frame = frame;
                    input.StreamTime = frame.StreamTime;
                    input.At = Epoch + frame.StreamTime;
                    input.Tracks.Clear();
                    input.Alive.Clear();
                    if (tracks?.Invoke(frame.StreamTime) is { } scripted)
                    {
                        input.Tracks.AddRange(scripted);
                        input.Alive.AddRange(scripted);
                    }

                    engine.Process(input, events);
                    observe?.Invoke(engine, input, events);
                }
                finally
                {
                    input.Frame = null;
                    frame.Release();
                }
            }
        }).WaitAsync(Bound);
        engine.Complete(input, events);
        return events;
    }

    /// <summary>
    /// Plays a clip through an engine that may already have seen others, with wall time from <paramref name="clock"/>
    /// (stream time in, time of day out). With <paramref name="restart"/> the engine is first told the stream
    /// restarted, as the pipeline does when a source reconnects: the stream clock starts over. Returns the wall time of
    /// the last frame. Does not complete the engine.
    /// </summary>
    public static async Task<DateTimeOffset> PlayAsync(CameraRuleEngine engine, string clip, List<RuleEvent> events, Func<TimeSpan, DateTimeOffset> clock, bool restart = false,
        Action<CameraRuleEngine, RuleFrame>? observe = null)
    {
        var input = new RuleFrame { Detected = true };
        var last = DateTimeOffset.MinValue;
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "vtest", Uri = clip, SampleFps = 5, PoolCapacity = 4 },
            TimeProvider.System, NullLoggerFactory.Instance);
        await Task.Run(async () =>
        {
            var first = true;
            while (await source.ReadAsync(CancellationToken.None) is { } frame)
            {
                try
                {
                    input.Frame = frame;
                    input.StreamTime = frame.StreamTime;
                    input.At = last = clock(frame.StreamTime);
                    if (first && restart) engine.Restart(input, events);
                    first = false;
                    engine.Process(input, events);
                    observe?.Invoke(engine, input);
                }
                finally
                {
                    input.Frame = null;
                    frame.Release();
                }
            }
        }).WaitAsync(Bound);
        return last;
    }
}
