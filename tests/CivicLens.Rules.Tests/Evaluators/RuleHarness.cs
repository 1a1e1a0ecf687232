using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Tests.Evaluators;

/// <summary>
/// Drives a camera's rule engine with scripted tracks, frame by frame at 10 fps, the way the pipeline does:
/// matched tracks in <see cref="RuleFrame.Tracks"/>, every live one in <see cref="RuleFrame.Alive"/>.
/// For the rules' logic in isolation; the footage tests run the same engine behind the real detector.
/// </summary>
internal sealed class RuleHarness
{
    public static readonly DateTimeOffset Epoch = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private readonly CameraRuleEngine _engine;
    private readonly RuleFrame _frame = new();
    private readonly Frame _pixels;

    public RuleHarness(string yaml, ModelLabels? labels = null, int width = 640, int height = 480)
    {
        Config = ConfigLoader.Parse(yaml, "test.yaml");
        Signals = new SignalBoard(Config.Signals, Config.TimeZone);
        _engine = new CameraRuleEngine(Config.Cameras[0], Config, labels ?? ModelLabels.Coco80, Signals);
        _pixels = Frame.CreateDetached(width, height);
    }

    public CivicLensConfig Config { get; }

    public SignalBoard Signals { get; }

    public List<RuleEvent> Events { get; } = [];

    public TimeSpan Time { get; private set; }

    public CameraRuleEngine Engine => _engine;

    /// <summary>One frame 0.1 s after the last, with these tracks matched (and alive) in it.</summary>
    public IReadOnlyList<RuleEvent> Step(params TrackedObject[] tracks) => Step(true, tracks, []);

    public IReadOnlyList<RuleEvent> Step(bool detected, TrackedObject[] tracks, Detection[] detections, Frame? frame = null)
    {
        _frame.Frame = frame ?? _pixels;
        _frame.StreamTime = Time;
        _frame.At = Epoch + Time;
        _frame.Detected = detected;
        _frame.Tracks.Clear();
        _frame.Alive.Clear();
        _frame.Detections.Clear();
        if (detected)
        {
            _frame.Tracks.AddRange(tracks);
            _frame.Alive.AddRange(tracks.Where(t => t.State != TrackState.Removed));
            _frame.Detections.AddRange(detections);
        }

        var start = Events.Count;
        _engine.Process(_frame, Events);
        Time += TimeSpan.FromSeconds(0.1);
        return Events.GetRange(start, Events.Count - start);
    }

    /// <summary>Steps until <paramref name="until"/> with the tracks <paramref name="at"/> gives for each moment.</summary>
    public void Run(TimeSpan until, Func<TimeSpan, TrackedObject[]> at)
    {
        while (Time < until) Step(at(Time));
    }

    public IReadOnlyList<RuleEvent> Complete()
    {
        var start = Events.Count;
        _engine.Complete(_frame, Events);
        return Events.GetRange(start, Events.Count - start);
    }

    public static TrackedObject Track(long id, string label, float x, float y, float w, float h, float score = 0.8f, TrackState state = TrackState.Tracked)
    {
        ModelLabels.Coco80.TryGetId(label, out var classId);
        return new TrackedObject(id, classId, new BoxF(x, y, w, h), score, state, TimeSpan.Zero, TimeSpan.Zero, 10, 0, 0);
    }

    /// <summary>A person whose feet stand at (x, y).</summary>
    public static TrackedObject Person(long id, float x, float y, float score = 0.8f, TrackState state = TrackState.Tracked) =>
        Track(id, "person", x - 15, y - 80, 30, 80, score, state);
}
