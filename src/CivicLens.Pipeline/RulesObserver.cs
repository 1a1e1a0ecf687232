using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using CivicLens.Pipeline.Output;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;

namespace CivicLens.Pipeline;

/// <summary>
/// Runs a camera's rules on each analysed frame and hands their events to the writer (after the frame's track
/// lines), together with camera-health events from the source. Events are never dropped: this runs on the camera
/// loop, and a slow sink slows the loop (which then drops frames, counted, upstream).
/// </summary>
public sealed class RulesObserver : IPipelineObserver, IDisposable
{
    private readonly AnalysisWriter _writer;
    private CameraRuleEngine _engine;
    private int _geometryVersion;
    private readonly CameraHealthMonitor _health;
    private readonly RuleFrame _frame = new();
    private readonly List<RuleEvent> _events = new(16);
    private readonly SiteEvidence? _evidence;
    private readonly List<SiteEvidence.Pending> _requests = new(4);
    private readonly List<OpenEvidence> _open = [];
    private bool _seenFrame;

    /// <summary>Starting a better view than this (score gain) replaces a lasting condition's evidence.</summary>
    private const float BetterBy = 0.05f;

    /// <summary>Evidence is replaced at most this often per condition (each replacement is a redaction and a JPEG).</summary>
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(2);

    /// <summary>An open condition about one object whose evidence may still improve.</summary>
    private sealed class OpenEvidence
    {
        public Guid Incident;
        public required string Kind;
        public required string File;
        public BoxF Box;
        public float Best;
        public TimeSpan LastWrite;
    }

    public RulesObserver(AnalysisWriter writer, CameraRuleEngine engine, CameraHealthMonitor health, SiteEvidence? evidence = null)
    {
        _writer = writer;
        _engine = engine;
        _health = health;
        _evidence = evidence;
    }

    /// <summary>The camera as the server sees it (live view, geometry edits); null in <c>civiclens analyze</c>.</summary>
    public CameraRuntime? Runtime { get; init; }

    /// <summary>Builds the camera's engine with its current effective geometry, after an edit (see <see cref="Runtime"/>).</summary>
    public Func<CameraRuleEngine>? Rebuild { get; init; }

    public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        await _writer.OnFrameAsync(analysis, cancellationToken);
        _events.Clear();
        Fill(analysis);
        if (Runtime is { } runtime && Rebuild is not null && runtime.GeometryVersion != _geometryVersion)
        {
            _geometryVersion = runtime.GeometryVersion;
            if (SwapEngine()) runtime.GeometryApplied(_geometryVersion);
        }
        if (analysis.Restarted && _seenFrame) _engine.Restart(_frame, _events);
        _seenFrame = true;
        _engine.Process(_frame, _events);
        var snapshot = await _writer.WriteRuleEventsAsync(_events, analysis, cancellationToken);
        TrackOpenConditions(snapshot, analysis.Frame.StreamTime);
        if (analysis.Detected) await ImproveEvidenceAsync(analysis, cancellationToken);
        if (Runtime is { } watched)
        {
            var (live, scene) = (watched.WantsFrame(), watched.WantsScene());
            if (live || scene) await _writer.RenderLiveAsync(analysis, watched, live, scene, cancellationToken);
        }

        if (_evidence is null) return;
        foreach (var e in _events)
        {
            if (AnalysisWriter.NeedsEvidence(e)) _evidence.Request(e);
        }

        // Other cameras' events at a site this camera also covers: store this camera's view of the moment.
        _requests.Clear();
        if (_evidence.TryTake(_engine.Camera, analysis.Frame.CapturedAt, _requests))
        {
            await _writer.WriteSiteEvidenceAsync(_requests, analysis, cancellationToken);
        }
    }

    public void OnHealth(SourceHealth health)
    {
        _writer.OnHealth(health);
        _health.OnHealth(health);
    }

    /// <summary>
    /// The evidence of a lasting condition should be its best view, not just its first: while it is open, a frame
    /// in which the same object (same place) scores clearly higher replaces the snapshot.
    /// </summary>
    private void TrackOpenConditions(string? snapshot, TimeSpan now)
    {
        foreach (var e in _events)
        {
            if (e.Phase == EventPhase.End) _open.RemoveAll(o => o.Incident == e.IncidentId);
            else if (e.Phase == EventPhase.Start && snapshot is not null && e.Box is { } box && AnalysisWriter.NeedsEvidence(e))
            {
                _open.Add(new OpenEvidence { Incident = e.Id, Kind = e.Kind, File = snapshot, Box = box, Best = e.Confidence, LastWrite = now });
            }
        }
    }

    private async ValueTask ImproveEvidenceAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
    {
        var now = analysis.Frame.StreamTime;
        foreach (var open in _open)
        {
            if (now - open.LastWrite < RefreshEvery) continue;
            TrackedObject? best = null;
            foreach (var t in analysis.Tracks)
            {
                if (t.State == TrackState.Removed || t.Score < open.Best + BetterBy || t.Box.IoU(open.Box) < 0.5f) continue;
                if (best is null || t.Score > best.Value.Score) best = t;
            }

            if (best is not { } b) continue;
            if (await _writer.RefreshEvidenceAsync(analysis, open.File, b.Box, open.Kind, cancellationToken))
            {
                open.Best = b.Score;
                open.Box = b.Box;
                open.LastWrite = now;
            }
        }
    }

    /// <summary>
    /// Zones or lines were edited: open conditions of the old geometry end on this frame (their end events are
    /// written with it), and the rules go on with the new geometry from a clean state. The server validated the
    /// edit against the rules before saving it, so a failure here keeps the old engine rather than stopping the camera.
    /// </summary>
    private bool SwapEngine()
    {
        CameraRuleEngine next;
        try
        {
            next = Rebuild!();
        }
        catch (Rules.Configuration.ConfigException)
        {
            return false;
        }

        if (_seenFrame) _engine.Complete(_frame, _events);
        _open.Clear();
        _engine = next;
        return true;
    }

    /// <summary>The source ended: flush partial counts and close open conditions.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (!_seenFrame) return;
        _events.Clear();
        _frame.Frame = null;
        _engine.Complete(_frame, _events);
        await _writer.WriteRuleEventsAsync(_events, null, cancellationToken);
        _open.Clear();
    }

    /// <summary>Health events come from a timer thread; the writer serialises them with frame output.</summary>
    public static void WriteHealthEvent(AnalysisWriter writer, RuleEvent e)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _ = writer.WriteRuleEventsAsync([e], null, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private void Fill(FrameAnalysis analysis)
    {
        var frame = analysis.Frame;
        _frame.Frame = frame;
        _frame.StreamTime = frame.StreamTime;
        _frame.At = frame.CapturedAt;
        _frame.Detected = analysis.Detected;
        _frame.Tracks.Clear();
        _frame.Tracks.AddRange(analysis.Tracks);
        _frame.Alive.Clear();
        _frame.Alive.AddRange(analysis.Alive);
        _frame.Detections.Clear();
        _frame.Detections.AddRange(analysis.Detections);
    }

    public void Dispose() => _health.Dispose();
}
