using CivicLens.Domain.Events;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Scene;

namespace CivicLens.Rules.Health;

/// <summary>What is wrong with a camera's view.</summary>
public enum TamperKind
{
    None,

    /// <summary>Lens covered, sprayed or blacked out: almost no contrast and no edges left.</summary>
    Covered,

    /// <summary>The camera points elsewhere: the edge map lines up with the reference only shifted, or not at all.</summary>
    Moved,

    /// <summary>Defocused or smeared: fine detail gone while the coarse layout stays.</summary>
    Defocused,
}

/// <summary>
/// Camera tampering, judged on the whole view against a reference learnt from the first
/// <see cref="LearnFor"/> of a steady, textured view and refreshed slowly while nothing is wrong (lighting drift):
/// <list type="bullet">
/// <item><c>covered</c>: contrast and coarse edges collapse against the reference;</item>
/// <item><c>moved</c>: the thumbnail's edge map no longer lines up with the reference's at the same place, but does
/// at a shift of at least two cells (about 16 pixels at 768 wide), or lines up nowhere;</item>
/// <item><c>defocused</c>: fine gradient energy over coarse falls well below the reference's.</item>
/// </list>
/// Walkers change a small part of the view and keep the edge maps aligned. A condition lasting
/// <see cref="HealthConfig.TamperAfter"/> of stream time raises <c>camera.tamper</c> (Start, detail the kind); the
/// view matching the reference again for <see cref="ClearAfter"/> ends it with the time it lasted. Allocates
/// nothing per frame (buffers are rebuilt only when the stream's size changes, which restarts learning).
/// </summary>
public sealed class TamperMonitor
{
    /// <summary>How long a steady view is watched before it becomes the reference.</summary>
    public static TimeSpan LearnFor { get; } = TimeSpan.FromSeconds(3);

    /// <summary>The view must look right this long before a tamper condition ends.</summary>
    public static TimeSpan ClearAfter { get; } = TimeSpan.FromSeconds(2);

    /// <summary>A single good frame this short does not restart the timer of a pending condition.</summary>
    private static readonly TimeSpan DipTolerance = TimeSpan.FromSeconds(1);

    /// <summary>Time constant of the reference's refresh (lighting through the day).</summary>
    private const float RefreshTauSeconds = 120f;

    /// <summary>Edge maps correlating less than this at zero shift are searched for a shift.</summary>
    private const float AlignedMin = 0.55f;

    /// <summary>Below this at zero shift, and no better shift: the camera sees another view.</summary>
    private const float ReplacedBelow = 0.3f;

    /// <summary>How far (thumbnail cells) a shift is searched: about 100 pixels at 768 wide.</summary>
    private const int ShiftRange = 12;

    /// <summary>Sharpness below this share of the reference's: defocused.</summary>
    private const float DefocusedBelow = 0.4f;

    private readonly ViewSampler _view = new();
    private readonly int[] _votes = new int[4];
    private float[] _reference = [];
    private float[] _referenceEdges = [];
    private float[] _previousEdges = [];
    private float _referenceStd;
    private float _referenceCoarse;
    private float _referenceSharpness;
    private TimeSpan? _learnStart;
    private int _learnFrames;
    private TimeSpan _last;
    private TimeSpan? _pendingSince;
    private TimeSpan _lastBad;
    private TimeSpan? _goodSince;
    private Guid? _incident;
    private TimeSpan _incidentSince;
    private TamperKind _incidentKind;
    private float _incidentConfidence;
    private float _confidence;

    public TamperMonitor(string camera, HealthConfig health)
    {
        ArgumentNullException.ThrowIfNull(camera);
        ArgumentNullException.ThrowIfNull(health);
        Camera = camera;
        Health = health;
    }

    public string Camera { get; }

    public HealthConfig Health { get; }

    /// <summary>True once a reference view has been learnt.</summary>
    public bool Learned { get; private set; }

    /// <summary>What the last frame looked like (before the <see cref="HealthConfig.TamperAfter"/> wait).</summary>
    public TamperKind Current { get; private set; }

    /// <summary>The kind of the open <c>camera.tamper</c> condition, or <see cref="TamperKind.None"/>.</summary>
    public TamperKind Open => _incident is null ? TamperKind.None : _incidentKind;

    /// <summary>Last measures (diagnostics): edge alignment at zero shift, sharpness and contrast against the reference.</summary>
    public (float Alignment, float Sharpness, float Contrast) LastMeasures { get; private set; }

    public void Process(RuleFrame frame, List<RuleEvent> output)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(output);
        if (frame.Frame is not { } image) return;
        var now = frame.StreamTime;
        if (_view.Measure(image)) Rebuild();
        var dt = (float)Math.Clamp((now - _last).TotalSeconds, 0, 2);
        _last = now;
        if (!Learned)
        {
            Learn(now);
            return;
        }

        Current = Classify();
        if (Current != TamperKind.None)
        {
            _goodSince = null;
            if (_pendingSince is null)
            {
                _pendingSince = now;
                Array.Clear(_votes);
            }

            _votes[(int)Current]++;
            _lastBad = now;
            if (_incident is null && now - _pendingSince.Value >= Health.TamperAfter) Start(frame, output);
            return;
        }

        if (_incident is null)
        {
            if (_pendingSince is not null && now - _lastBad > DipTolerance) _pendingSince = null;
            if (_pendingSince is null) Refresh(dt);
            return;
        }

        _goodSince ??= now;
        if (now - _goodSince.Value >= ClearAfter) End(frame, output);
    }

    /// <summary>How often the stream restarted (its clock starts over): keeps the ids of each run's tamper events apart.</summary>
    public int Epoch { get; set; }

    /// <summary>
    /// The source ended or restarted: ends an open condition (its end is the last frame seen) and learns the view
    /// afresh. <see cref="Reset"/> does the same without reporting the end.
    /// </summary>
    public void Complete(RuleFrame last, List<RuleEvent> output)
    {
        ArgumentNullException.ThrowIfNull(last);
        ArgumentNullException.ThrowIfNull(output);
        if (_incident is not null)
        {
            _goodSince ??= last.StreamTime;
            End(last, output);
        }

        Reset();
    }

    /// <summary>Forgets the reference and any open condition (the source restarted: the view is learnt afresh).</summary>
    public void Reset()
    {
        Learned = false;
        _learnStart = null;
        _learnFrames = 0;
        _pendingSince = null;
        _goodSince = null;
        _incident = null;
        Current = TamperKind.None;
    }

    private void Rebuild()
    {
        var n = _view.Width * _view.Height;
        _reference = new float[n];
        _referenceEdges = new float[n];
        _previousEdges = new float[n];
        Reset();
    }

    /// <summary>Averages a steady, textured view into the reference; a flat or jumping view starts learning over.</summary>
    private void Learn(TimeSpan now)
    {
        var textured = _view.Std >= 4f;
        var steady = _learnFrames == 0 || _view.Correlate(_previousEdges, _view.Edges, 0, 0) >= AlignedMin;
        Array.Copy(_view.Edges, _previousEdges, _previousEdges.Length);
        if (!textured || !steady) _learnFrames = 0;
        if (!textured) return;
        if (_learnFrames == 0)
        {
            _learnStart = now;
            Array.Clear(_reference);
            _referenceStd = _referenceCoarse = _referenceSharpness = 0;
        }

        var thumb = _view.Thumb;
        for (var i = 0; i < thumb.Length; i++) _reference[i] += thumb[i];
        _referenceStd += _view.Std;
        _referenceCoarse += _view.CoarseEnergy;
        _referenceSharpness += _view.Sharpness;
        _learnFrames++;
        if (now - _learnStart!.Value < LearnFor || _learnFrames < 3) return;

        var k = 1f / _learnFrames;
        for (var i = 0; i < _reference.Length; i++) _reference[i] *= k;
        _referenceStd *= k;
        _referenceCoarse *= k;
        _referenceSharpness *= k;
        _view.EdgesOf(_reference, _referenceEdges);
        LastMeasures = (1f, 1f, 1f);
        Learned = true;
    }

    private TamperKind Classify()
    {
        var contrast = _referenceStd > 0 ? _view.Std / _referenceStd : 0f;
        var sharpness = _referenceSharpness > 0 ? _view.Sharpness / _referenceSharpness : 1f;
        var alignment = _view.Correlate(_referenceEdges, _view.Edges, 0, 0);
        LastMeasures = (alignment, sharpness, contrast);
        if (_view.Std < 2.5f || (contrast < 0.25f && _view.CoarseEnergy < 0.08f * _referenceCoarse))
        {
            _confidence = Math.Clamp(1f - contrast, 0f, 1f);
            return TamperKind.Covered;
        }

        if (alignment < AlignedMin)
        {
            var (dx, dy, score) = _view.BestShift(_view.Edges, _referenceEdges, ShiftRange);
            if (Math.Max(Math.Abs(dx), Math.Abs(dy)) >= 2 && score >= 0.5f && score > alignment + 0.15f)
            {
                _confidence = Math.Clamp(score - alignment + 0.5f, 0f, 1f);
                return TamperKind.Moved;
            }
        }

        if (sharpness < DefocusedBelow)
        {
            _confidence = Math.Clamp(1f - sharpness, 0f, 1f);
            return TamperKind.Defocused;
        }

        if (alignment < ReplacedBelow)
        {
            _confidence = Math.Clamp(1f - alignment, 0f, 1f);
            return TamperKind.Moved;
        }

        return TamperKind.None;
    }

    /// <summary>Lets the reference follow slow lighting changes while the view is right.</summary>
    private void Refresh(float dt)
    {
        var a = MathF.Min(1f, dt / RefreshTauSeconds);
        if (a <= 0) return;
        var thumb = _view.Thumb;
        for (var i = 0; i < _reference.Length; i++) _reference[i] += (thumb[i] - _reference[i]) * a;
        _referenceStd += (_view.Std - _referenceStd) * a;
        _referenceCoarse += (_view.CoarseEnergy - _referenceCoarse) * a;
        _referenceSharpness += (_view.Sharpness - _referenceSharpness) * a;
        _view.EdgesOf(_reference, _referenceEdges);
    }

    private void Start(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        var kind = Current;
        for (var k = 1; k < _votes.Length; k++)
        {
            if (_votes[k] > _votes[(int)kind]) kind = (TamperKind)k;
        }

        var id = EventIds.Create(Camera, "tamper", Epoch, "start", now);
        _incident = id;
        _incidentKind = kind;
        _incidentSince = _pendingSince!.Value;
        _incidentConfidence = _confidence;
        output.Add(Event(id, EventPhase.Start, frame, now - _incidentSince));
    }

    private void End(RuleFrame frame, List<RuleEvent> output)
    {
        var id = EventIds.Create(Camera, "tamper", Epoch, "end", frame.StreamTime);
        output.Add(Event(id, EventPhase.End, frame, _goodSince!.Value - _incidentSince));
        _incident = null;
        _pendingSince = null;
        _goodSince = null;
    }

    private RuleEvent Event(Guid id, EventPhase phase, RuleFrame frame, TimeSpan duration) => new()
    {
        Id = id,
        Kind = "camera.tamper",
        Phase = phase,
        Camera = Camera,
        Rule = "health",
        Category = "camera-tamper",
        StreamTime = frame.StreamTime,
        At = frame.At,
        IncidentId = _incident,
        Confidence = _incidentConfidence,
        Duration = duration,
        Detail = _incidentKind switch
        {
            TamperKind.Covered => "covered",
            TamperKind.Moved => "moved",
            _ => "defocused",
        },
    };
}
