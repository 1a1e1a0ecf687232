using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Media;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Evaluators;
using CivicLens.Rules.Health;
using CivicLens.Rules.Scene;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>The scene-change rule and the tamper monitor run on every frame of every camera: they must not allocate.</summary>
public sealed class SceneAllocationTests
{
    [Fact]
    public async Task EvaluateAndProcess_SteadyFramesWithTracks_AllocateNothingPerFrame()
    {
        var frames = await FirstFramesAsync(40);
        var config = FootageReplay.Config("- {id: plaza-change, type: scene-change, zone: plaza, after: 10s, learn: 2s}");
        var context = new CameraContext(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals));
        var rule = new SceneChangeRule((SceneChangeRuleConfig)config.Cameras[0].Rules[0], context);
        var monitor = new TamperMonitor("vtest", new HealthConfig());
        var input = new RuleFrame { Detected = true };
        var person = new TrackedObject(1, 0, new BoxF(300, 200, 40, 100), 0.9f, TrackState.Tracked, TimeSpan.Zero, TimeSpan.Zero, 5, 10, 0);
        input.Tracks.Add(person);
        input.Alive.Add(person);
        var output = new List<RuleEvent>(16);

        void Run(int from, int to)
        {
            for (var k = from; k < to; k++)
            {
                input.Frame = frames[k % frames.Count];
                input.StreamTime = TimeSpan.FromSeconds(k * 0.2);
                rule.Evaluate(input, output);
                monitor.Process(input, output);
            }
        }

        Run(0, 40); // learn both (2 s and 3 s of footage) and warm up
        Assert.True(rule.Learned && monitor.Learned, "the warm-up did not learn the scene and the view");
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(40, 120);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Empty(output);
    }

    [Fact]
    public async Task Evaluate_IncidentReferenceKeptAndCompared_AllocatesNothingPerFrame()
    {
        var frames = await FirstFramesAsync(40);
        // The same frames with a dark box put down in the plaza, away from the walking track.
        var withBox = frames.ConvertAll(f =>
        {
            var copy = Frame.CreateDetached(f.Width, f.Height);
            f.Pixels.AsSpan(0, f.Stride * f.Height).CopyTo(copy.Pixels);
            for (var y = 250; y < 300; y++) copy.Pixels.AsSpan(y * copy.Stride + 600 * 3, 60 * 3).Fill(20);
            return copy;
        });
        var config = FootageReplay.Config("- {id: plaza-change, type: scene-change, zone: plaza, after: 1s, learn: 2s}");
        var context = new CameraContext(config.Cameras[0], config, ModelLabels.Coco80, new SignalBoard(config.Signals));
        var rule = new SceneChangeRule((SceneChangeRuleConfig)config.Cameras[0].Rules[0], context);
        var input = new RuleFrame { Detected = true };
        var person = new TrackedObject(1, 0, new BoxF(300, 200, 40, 100), 0.9f, TrackState.Tracked, TimeSpan.Zero, TimeSpan.Zero, 5, 10, 0);
        input.Tracks.Add(person);
        input.Alive.Add(person);
        var output = new List<RuleEvent>(16);

        void Run(List<Frame> source, int from, int to)
        {
            for (var k = from; k < to; k++)
            {
                input.Frame = source[k % source.Count];
                input.StreamTime = TimeSpan.FromSeconds(k * 0.2);
                input.At = FootageReplay.Epoch + input.StreamTime;
                rule.Evaluate(input, output);
            }
        }

        Run(frames, 0, 40);
        Run(withBox, 40, 80); // the box settles (3 s) and lasts (1 s): the change starts, its reference is kept
        Assert.True(rule.Open, "the box was not reported");
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(withBox, 80, 160); // still there: compared, present
        Run(frames, 160, 240); // gone: compared, counting towards clear_after (60 s)
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(rule.Open, "the change ended before clear_after");
        Assert.Equal(ZoneVerdict.Gone, rule.LastReferenceCheck.Comparison.Verdict);
        Assert.Single(output);
    }

    private static async Task<List<Frame>> FirstFramesAsync(int count)
    {
        var frames = new List<Frame>();
        await using var source = new FfmpegFrameSource(
            new FrameSourceOptions { Name = "vtest", Uri = TestAssets.SampleVideo, SampleFps = 5, PoolCapacity = 4 },
            TimeProvider.System, NullLoggerFactory.Instance);
        while (frames.Count < count && await source.ReadAsync(CancellationToken.None) is { } frame)
        {
            var copy = Frame.CreateDetached(frame.Width, frame.Height);
            frame.Pixels.CopyTo(copy.Pixels, 0);
            frames.Add(copy);
            frame.Release();
        }

        return frames;
    }
}
