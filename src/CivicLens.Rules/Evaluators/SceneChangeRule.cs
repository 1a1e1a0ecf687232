using System.Buffers.Binary;
using CivicLens.Domain.Geometry;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Scene;

namespace CivicLens.Rules.Evaluators;

/// <summary>
/// Left objects, dumped waste, a new poster: a lasting change in a zone against a learned background that no
/// tracked object explains. The zone is read as small grey cells (about 1/4 of the configured resolution). Per cell:
/// <list type="bullet">
/// <item>the long-term background is learned during <see cref="SceneChangeRuleConfig.Learn"/> from values that held
/// still, then follows slow drift only where the cell shows background;</item>
/// <item>a cell is changed when it differs from the background by more than
/// <see cref="SceneChangeRuleConfig.PixelThreshold"/> AND has held the same value for <see cref="StableFor"/>
/// (a walker never holds still that long); the change is dated from when the value settled;</item>
/// <item>cells under live tracks (with a margin) are neither judged nor learned: their state is held, so a person
/// stepping in front of a bag neither clears nor starts anything.</item>
/// </list>
/// Global lighting (clouds, exposure) is taken out first: the median brightness ratio of the zone's background
/// cells against the background scales every cell back. When changed cells dated at least
/// <see cref="SceneChangeRuleConfig.After"/> ago cover more than <see cref="SceneChangeRuleConfig.MinChangedFraction"/>
/// of the zone, <c>scene.change</c> starts (box around them). Its clean reference (the zone's learned background
/// and the changed cells, see <see cref="CaptureIncident"/>) is kept with the incident, in the rule and in a small file
/// under the camera's rule state (<see cref="RuleStateSettings"/>), so neither a relearn nor a restart of the stream or
/// the process loses it. The change ends, detail <c>cleared</c>, only once the zone has been seen matching that
/// reference for <see cref="SceneChangeRuleConfig.ClearAfter"/> with no track over it; that is what confirms a fix.
/// The condition also ends when the stream ends or restarts, when the schedule closes and when the scene is learned
/// afresh, each with its reason: none of them saw the zone clear, so the reference stays and is still compared, and a
/// later <c>cleared</c> end names the same incident. A view that is not the reference's (lens covered, camera moved,
/// lights out) never counts towards it. Two guards keep it quiet where it would be wrong: a changed blob whose outline
/// shows in the learned background rather than in the current picture is a ghost (someone who stood still while the scene
/// was learned, a car that drove off) and is learned into the background, never reported; a frame where most of the
/// view differs at once (lens covered, camera moved) is not judged, and after <see cref="RelearnAfter"/> of that the
/// scene is learned afresh. Nothing is allocated per frame on the steady path.
/// </summary>
public sealed class SceneChangeRule : RuleEvaluator
{
    /// <summary>A value must hold this long to count (a walker or a waving flag does not).</summary>
    public static TimeSpan StableFor { get; } = TimeSpan.FromSeconds(3);

    /// <summary>During learning, a value held this long is taken as background.</summary>
    private static readonly TimeSpan LearnStable = TimeSpan.FromSeconds(1.5);

    /// <summary>The detail of an end that saw the zone back to the incident's clean reference (the only one that confirms a fix).</summary>
    public const string Cleared = "cleared";

    /// <summary>At most this many kept references per rule; beyond, the oldest one whose condition already ended is dropped.</summary>
    private const int MaxReferences = 16;

    /// <summary>A view disturbed as a whole this long is learned afresh (the camera now looks elsewhere).</summary>
    public static TimeSpan RelearnAfter { get; } = TimeSpan.FromSeconds(60);

    /// <summary>More than this share of the cells differing at once: the view as a whole changed, not the scene.</summary>
    private const float DisturbedAbove = 0.5f;

    /// <summary>Lighting darker than this share of the background's (or brighter than its inverse): the view, not the scene.</summary>
    private const float MinLighting = 0.3f;

    /// <summary>The outline test needs this many cells on the background's edges.</summary>
    private const int MinEdgeCells = 20;

    /// <summary>A blob whose outline is this much stronger in the background than in the picture is a ghost.</summary>
    private const float GhostRatio = 1.5f;

    /// <summary>Time constant of the background's drift (lighting through the day, shadows).</summary>
    private const float BackgroundTauSeconds = 60f;

    private const float TrackMargin = 0.15f;
    private const int ClearFrames = 3;
    private const long None = long.MinValue;

    private readonly SceneChangeRuleConfig _rule;
    private readonly ZoneGrid _grid;
    private readonly IlluminationGain _gain = new();
    private readonly bool[]? _classes;
    private readonly float _threshold;
    private readonly float _stableTolerance;
    private readonly float[] _grey;
    private readonly float[] _norm;
    private readonly float[] _background;
    private readonly float[] _candidate;
    private readonly long[] _stableSince;
    private readonly long[] _changedSince;
    private readonly byte[] _clearRun;
    private readonly bool[] _known;
    private readonly bool[] _occluded;
    private readonly bool[] _use;
    private readonly int[] _component;
    private readonly int[] _members;
    private readonly bool[] _covered;
    private readonly string? _outside;
    private readonly ZoneSnapshotComparer _comparer;
    private readonly IncidentReferenceStore? _store;
    private readonly List<Watch> _watches = [];
    private bool _loaded;
    private TimeSpan? _learnStart;
    private TimeSpan _last;
    private float _lighting = 1f;
    private Guid? _incident;
    private TimeSpan _incidentSince;
    private BoxF _incidentBox;
    private float _incidentConfidence;
    private TimeSpan? _disturbedSince;

    /// <summary>An incident's clean reference, compared frame by frame until its zone is seen clear.</summary>
    private sealed class Watch(IncidentReference reference)
    {
        public IncidentReference Reference { get; } = reference;

        /// <summary>Stream time the zone has been seen matching the reference, uncovered, since it last did not.</summary>
        public TimeSpan Matched { get; set; }

        /// <summary>Wall time the current match began (the end's duration runs from the change's start to it).</summary>
        public DateTimeOffset? MatchSince { get; set; }

        public void Reset()
        {
            Matched = TimeSpan.Zero;
            MatchSince = null;
        }
    }

    public SceneChangeRule(SceneChangeRuleConfig rule, CameraContext context) : base(rule, context)
    {
        _rule = rule;
        _grid = new ZoneGrid(context.Zone(rule.Zone).Polygon, context.Camera.Width, context.Camera.Height);
        _outside = _grid.InsideCount == 0 ? $"zone '{rule.Zone}' lies outside the view" : null;
        _threshold = rule.PixelThreshold;
        _stableTolerance = MathF.Max(6f, rule.PixelThreshold / 3f);
        // Classes name the tracks that explain a change (their cells are masked); none named: every track does.
        if (rule.Classes.Count > 0)
        {
            _classes = new bool[context.Labels.Count];
            for (var id = 0; id < _classes.Length; id++) _classes[id] = AcceptsClass(id);
        }

        var n = _grid.Length;
        _grey = new float[n];
        _norm = new float[n];
        _background = new float[n];
        _candidate = new float[n];
        _stableSince = new long[n];
        _changedSince = new long[n];
        _clearRun = new byte[n];
        _known = new bool[n];
        _occluded = new bool[n];
        _use = new bool[n];
        _component = new int[n];
        _members = new int[n];
        _covered = new bool[n];
        _comparer = CreateComparer();
        if (context.State is { } state)
        {
            _store = new IncidentReferenceStore(state, context.Camera.Id, rule.Id, context.Zone(rule.Zone).Polygon, context.Camera.Width, context.Camera.Height);
        }
    }

    public override string? Degraded => _outside;

    /// <summary>True once the background has been learned.</summary>
    public bool Learned { get; private set; }

    /// <summary>Share of the zone changed for at least <see cref="SceneChangeRuleConfig.After"/>, after the last frame.</summary>
    public float ChangedFraction { get; private set; }

    /// <summary>Diagnostics: shares of the cells in view, and of the background's edge cells, that differed in the last frame.</summary>
    internal (float Cells, float Edges) LastDisturbance { get; private set; }

    /// <summary>Diagnostics: the last frame's comparison with the newest kept reference, and how long it has matched.</summary>
    internal (ZoneComparison Comparison, TimeSpan Matched) LastReferenceCheck { get; private set; }

    /// <summary>True while a <c>scene.change</c> condition is open.</summary>
    public bool Open => _incident is not null;

    /// <summary>Incidents whose clean reference is kept until their zone is seen clear (open or already ended).</summary>
    public IReadOnlyList<Guid> KeptReferences => _watches.ConvertAll(w => w.Reference.Incident);

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
        if (frame.Frame is not { } image || _grid.InsideCount == 0) return;
        var now = frame.StreamTime;
        _grid.Sample(image, _grey);
        if (!_loaded) LoadReferences(frame.At);
        if (_learnStart is null) StartLearning(now);
        var dt = (float)Math.Clamp((now - _last).TotalSeconds, 0, 2);
        _last = now;

        // Live tracks explain what they cover. Without detection this frame the alive tracks still stand where they were.
        Array.Clear(_occluded);
        _grid.MarkTracks(frame.Alive, _classes, TrackMargin, _occluded);
        _grid.MarkTracks(frame.Tracks, _classes, TrackMargin, _occluded);

        UpdateLighting();
        var disturbed = Normalise();
        var learning = now - _learnStart!.Value < _rule.Learn;
        // Kept references are compared whatever the rule's own state (learning afresh, or its background learned in a
        // view that has since come back): each carries its own clean picture and judges the view against it.
        if (_watches.Count > 0) CheckReferences(frame, dt, output);
        if (!learning && Disturbed(now, disturbed))
        {
            if (now - _disturbedSince!.Value >= RelearnAfter)
            {
                End(frame, "view changed; scene learned afresh", _disturbedSince.Value, output);
                StartLearning(now);
            }

            return;
        }

        var changed = UpdateCells(now, dt, learning);
        if (learning) return;
        Learned = true;
        if (changed > 0) AbsorbGhosts();
        Judge(frame, output);
    }

    /// <summary>
    /// The zone as it looks now with the changed cells as the problem region and the learned background as the clean
    /// picture: keep it with an open incident and hand it to a <see cref="ZoneSnapshotComparer"/> built for the same
    /// zone to confirm later that the problem has gone. Null before the background is learned.
    /// </summary>
    public ZonePatch? CaptureIncident()
    {
        if (!Learned) return null;
        var region = new bool[_grid.Length];
        var visible = new bool[_grid.Length];
        for (var i = 0; i < _grid.Length; i++)
        {
            region[i] = _grid.Inside[i] && _changedSince[i] != None;
            visible[i] = _grid.Inside[i] && !_occluded[i];
        }

        return new ZonePatch(_grid.Cols, _grid.Rows, (float[])_norm.Clone(), (float[])_background.Clone(), region, visible, _last);
    }

    /// <summary>Builds the comparer that matches this rule's cells and threshold (for <see cref="CaptureIncident"/>'s patches).</summary>
    public ZoneSnapshotComparer CreateComparer() =>
        new(Context.Zone(_rule.Zone).Polygon, Context.Camera.Width, Context.Camera.Height, _rule.PixelThreshold);

    public override void Suspend(RuleFrame frame, List<RuleEvent> output) => Restart(frame, "outside the rule's schedule", output);

    public override void Complete(RuleFrame frame, List<RuleEvent> output) => Restart(frame, "stream ended or restarted", output);

    private void StartLearning(TimeSpan now)
    {
        // What was seen before a relearn, a restart or a schedule's pause never carries over into a confirmation.
        foreach (var w in _watches) w.Reset();
        _learnStart = now;
        _disturbedSince = null;
        _last = now;
        _lighting = 1f;
        Learned = false;
        for (var i = 0; i < _grid.Length; i++)
        {
            _background[i] = _grey[i];
            _candidate[i] = _grey[i];
            _norm[i] = _grey[i];
            _stableSince[i] = now.Ticks;
            _changedSince[i] = None;
            _clearRun[i] = 0;
            _known[i] = false;
        }
    }

    /// <summary>The zone's lighting against the background, from cells that show background and are in view.</summary>
    private void UpdateLighting()
    {
        bool[] use = _use, occluded = _occluded;
        var changedSince = _changedSince;
        for (var i = 0; i < use.Length; i++) use[i] = !occluded[i] && changedSince[i] == None;
        if (_gain.Estimate(_grey, _background, use, Math.Max(16, use.Length / 10)) is { } gain) _lighting = gain;
    }

    /// <summary>
    /// Brings every cell to the background's lighting and measures how much of the view differs from the background:
    /// the share of the cells in view, and of the cells on the background's edges (see <see cref="Disturbed"/>).
    /// </summary>
    private (int Seen, int Off, int Edges, int EdgesOff) Normalise()
    {
        float[] grey = _grey, norm = _norm, background = _background;
        var occluded = _occluded;
        var cols = _grid.Cols;
        var n = norm.Length;
        var gain = _lighting;
        var threshold = _threshold;
        int seen = 0, off = 0, edges = 0, edgesOff = 0;
        for (var i = 0; i < n; i++)
        {
            var v = IlluminationGain.Normalise(grey[i], gain);
            norm[i] = v;
            if (occluded[i]) continue;
            seen++;
            var b = background[i];
            var diff = MathF.Abs(v - b);
            if (diff > threshold) off++;
            var edge = (i % cols + 1 < cols && MathF.Abs(background[i + 1] - b) > threshold)
                || (i + cols < n && MathF.Abs(background[i + cols] - b) > threshold);
            if (!edge) continue;
            edges++;
            if (diff > 0.5f * threshold) edgesOff++;
        }

        return (seen, off, edges, edgesOff);
    }

    /// <summary>Updates every cell's stillness, change and background; returns how many cells are changed.</summary>
    private int UpdateCells(TimeSpan now, float dt, bool learning)
    {
        var ticks = now.Ticks;
        var stableTicks = StableFor.Ticks;
        var learnTicks = LearnStable.Ticks;
        var alpha = MathF.Min(1f, dt / BackgroundTauSeconds);
        float[] norm = _norm, candidate = _candidate, background = _background;
        long[] stableSince = _stableSince, changedSince = _changedSince;
        bool[] occluded = _occluded, known = _known;
        var clearRun = _clearRun;
        float threshold = _threshold, tolerance = _stableTolerance;
        var changed = 0;
        for (var i = 0; i < norm.Length; i++)
        {
            var v = norm[i];
            if (occluded[i])
            {
                // Hidden behind a track: judge nothing, hold the state; stillness is measured afresh once in view.
                candidate[i] = v;
                stableSince[i] = ticks;
                if (changedSince[i] != None) changed++;
                continue;
            }

            if (MathF.Abs(v - candidate[i]) <= tolerance)
            {
                candidate[i] += (v - candidate[i]) * 0.25f;
            }
            else
            {
                candidate[i] = v;
                stableSince[i] = ticks;
            }

            var still = ticks - stableSince[i];
            if (learning || !known[i])
            {
                if (still >= learnTicks)
                {
                    background[i] = candidate[i];
                    known[i] = true;
                }
                else if (!known[i])
                {
                    background[i] = v;
                }

                continue;
            }

            var diff = MathF.Abs(candidate[i] - background[i]);
            if (diff > threshold && still >= stableTicks)
            {
                if (changedSince[i] == None) changedSince[i] = stableSince[i];
                clearRun[i] = 0;
            }
            else if (MathF.Abs(v - background[i]) < 0.7f * threshold)
            {
                if (clearRun[i] < ClearFrames) clearRun[i]++;
                if (clearRun[i] >= ClearFrames) changedSince[i] = None;
                if (changedSince[i] == None) background[i] += (v - background[i]) * alpha;
            }
            else
            {
                clearRun[i] = 0;
                // A background cell drifting slowly (a shadow creeping in) is followed while it holds still.
                if (changedSince[i] == None && diff <= threshold && still >= stableTicks) background[i] += (candidate[i] - background[i]) * alpha;
            }

            if (changedSince[i] != None) changed++;
        }

        return changed;
    }

    /// <summary>
    /// True when the view as a whole changed, not the scene: lighting far off the background's (lens covered, lights
    /// out), most cells differing at once, or most of the zone's outlines (cells where the background has a strong
    /// edge) no longer where they were (camera moved). Such a frame says nothing about the zone; stillness is
    /// measured afresh once the view is back.
    /// </summary>
    private bool Disturbed(TimeSpan now, (int Seen, int Off, int Edges, int EdgesOff) view)
    {
        var (seen, off, edges, edgesOff) = view;
        LastDisturbance = (seen == 0 ? 0 : (float)off / seen, edges == 0 ? 0 : (float)edgesOff / edges);
        var disturbed = seen > 0 && (_lighting < MinLighting || _lighting > 1f / MinLighting || off > DisturbedAbove * seen
            || (edges >= MinEdgeCells && edgesOff > DisturbedAbove * edges));
        if (!disturbed)
        {
            _disturbedSince = null;
            return false;
        }

        _disturbedSince ??= now;
        var ticks = now.Ticks;
        for (var i = 0; i < _grid.Length; i++) _stableSince[i] = ticks;
        return true;
    }

    /// <summary>
    /// Ghosts: a changed blob is a real object when its outline shows in the picture now (it stands out from the
    /// ground around it), and a ghost when its outline shows in the background instead (what was learned there
    /// stood out, what is seen now matches the ground around it). Ghost blobs become background.
    /// </summary>
    private void AbsorbGhosts()
    {
        Array.Clear(_component);
        var cols = _grid.Cols;
        var rows = _grid.Rows;
        var label = 0;
        for (var seed = 0; seed < _grid.Length; seed++)
        {
            if (_changedSince[seed] == None || _component[seed] != 0) continue;
            label++;
            var count = 0;
            _members[count++] = seed;
            _component[seed] = label;
            float picture = 0, background = 0;
            var pairs = 0;
            for (var k = 0; k < count; k++)
            {
                var i = _members[k];
                int r = i / cols, c = i % cols;
                for (var d = 0; d < 4; d++)
                {
                    int rr = r + (d == 0 ? -1 : d == 1 ? 1 : 0), cc = c + (d == 2 ? -1 : d == 3 ? 1 : 0);
                    if ((uint)rr >= (uint)rows || (uint)cc >= (uint)cols) continue;
                    var j = rr * cols + cc;
                    if (_changedSince[j] != None)
                    {
                        if (_component[j] == 0)
                        {
                            _component[j] = label;
                            _members[count++] = j;
                        }

                        continue;
                    }

                    if (_occluded[j]) continue;
                    picture += MathF.Abs(_candidate[i] - _background[j]);
                    background += MathF.Abs(_background[i] - _background[j]);
                    pairs++;
                }
            }

            if (pairs < 3 || background <= GhostRatio * picture) continue;
            for (var k = 0; k < count; k++)
            {
                var i = _members[k];
                _background[i] = _candidate[i];
                _changedSince[i] = None;
                _clearRun[i] = 0;
            }
        }
    }

    private void Judge(RuleFrame frame, List<RuleEvent> output)
    {
        var now = frame.StreamTime;
        var afterTicks = _rule.After.Ticks;
        var cols = _grid.Cols;
        var lasting = 0;
        int c0 = int.MaxValue, r0 = int.MaxValue, c1 = -1, r1 = -1;
        var oldest = now.Ticks;
        var excess = 0f;
        var inside = _grid.Inside;
        var changedSince = _changedSince;
        for (var r = 0; r < _grid.Rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                var i = r * cols + c;
                if (!inside[i] || changedSince[i] == None) continue;
                // A lone cell is noise: a change needs changed neighbours (two of eight).
                if (ChangedNeighbours(c, r) < 2) continue;
                if (now.Ticks - changedSince[i] < afterTicks) continue;
                lasting++;
                oldest = Math.Min(oldest, changedSince[i]);
                excess += Math.Clamp((MathF.Abs(_candidate[i] - _background[i]) - _threshold) / _threshold, 0f, 1f);
                c0 = Math.Min(c0, c);
                c1 = Math.Max(c1, c);
                r0 = Math.Min(r0, r);
                r1 = Math.Max(r1, r);
            }
        }

        var needed = Math.Max(2f, _rule.MinChangedFraction * _grid.InsideCount);
        ChangedFraction = (float)lasting / _grid.InsideCount;
        if (_incident is null)
        {
            if (lasting > needed && !CoolingDown(now))
            {
                Fired(now);
                var id = NewId(0, "start", now);
                _incident = id;
                _incidentSince = TimeSpan.FromTicks(oldest);
                _incidentBox = _grid.CellsToBox(c0, r0, c1, r1);
                _incidentConfidence = Math.Clamp(0.5f + 0.5f * excess / lasting, 0f, 1f);
                Keep(new IncidentReference(id, frame.At - (now - _incidentSince), _incidentBox, _incidentConfidence, CaptureIncident()!));
                output.Add(NewEvent("scene.change", EventPhase.Start, id, frame, zone: _rule.Zone) with
                {
                    IncidentId = id,
                    Box = _incidentBox,
                    Confidence = _incidentConfidence,
                    Duration = now - _incidentSince,
                    Detail = $"{ChangedFraction * 100:0.#}% of the zone changed",
                });
            }
        }

        // An open condition ends cleared only through its kept reference (see CheckReferences).
    }

    /// <summary>
    /// Compares the zone with every kept reference. A reference seen matching (the problem's cells back to their clean
    /// picture) with no track over any of them counts the frame's time; one still showing the problem, or a view that
    /// is not the reference's (lens covered, camera moved, lights out: <see cref="ZoneVerdict.ViewChanged"/>), starts the
    /// count again; one partly hidden or mixed holds it. After
    /// <see cref="SceneChangeRuleConfig.ClearAfter"/> the incident ends <see cref="Cleared"/>.
    /// </summary>
    private void CheckReferences(RuleFrame frame, float dt, List<RuleEvent> output)
    {
        // Every live track covers what it stands on here, whatever classes explain a change.
        Array.Clear(_covered);
        _grid.MarkTracks(frame.Alive, null, TrackMargin, _covered);
        _grid.MarkTracks(frame.Tracks, null, TrackMargin, _covered);
        var retention = _store?.Retention ?? RuleStateSettings.DefaultRetention;
        for (var k = _watches.Count - 1; k >= 0; k--)
        {
            var w = _watches[k];
            var incident = w.Reference.Incident;
            if (incident != _incident && frame.At - w.Reference.Since > retention)
            {
                Forget(k);
                continue;
            }

            var result = _comparer.Compare(w.Reference.Patch, _grey, _covered);
            if (k == _watches.Count - 1) LastReferenceCheck = (result, w.Matched);
            if (result.Verdict is ZoneVerdict.Present or ZoneVerdict.ViewChanged)
            {
                w.Reset();
            }
            else if (result.Verdict == ZoneVerdict.Gone && result.VisibleFraction >= 1f)
            {
                w.MatchSince ??= frame.At;
                w.Matched += TimeSpan.FromSeconds(dt);
                if (w.Matched >= _rule.ClearAfter) Confirm(frame, k, output);
            }
        }
    }

    /// <summary>The zone matched the incident's reference long enough: the incident ends cleared, its reference goes.</summary>
    private void Confirm(RuleFrame frame, int k, List<RuleEvent> output)
    {
        var w = _watches[k];
        var reference = w.Reference;
        var open = reference.Incident == _incident;
        // The open condition's end keeps its usual id; a later end of an incident already ended needs its own.
        var id = open ? NewId(0, "end", frame.StreamTime) : NewId(Key(reference.Incident), Cleared, frame.StreamTime);
        output.Add(NewEvent("scene.change", EventPhase.End, id, frame, zone: _rule.Zone) with
        {
            IncidentId = reference.Incident,
            Box = reference.Box,
            Confidence = reference.Confidence,
            Duration = (w.MatchSince ?? frame.At) - reference.Since,
            Detail = Cleared,
        });
        if (open) _incident = null;

        // What is seen now is the scene without the problem: a background learned afresh with the problem in it
        // (after a restart) takes it back, so the problem's leaving does not read as a new change.
        if (Learned)
        {
            var region = reference.Patch.Region;
            for (var i = 0; i < region.Length; i++)
            {
                if (!region[i] || _occluded[i]) continue;
                _background[i] = _norm[i];
                _candidate[i] = _norm[i];
                _changedSince[i] = None;
                _clearRun[i] = 0;
            }
        }

        Forget(k);
    }

    /// <summary>Keeps a new incident's reference, in memory and on disk (a disk that fails keeps it in memory only).</summary>
    private void Keep(IncidentReference reference)
    {
        if (_watches.Count >= MaxReferences)
        {
            var oldest = _watches.FindIndex(w => w.Reference.Incident != _incident);
            if (oldest >= 0) Forget(oldest);
        }

        _watches.Add(new Watch(reference));
        try
        {
            _store?.Save(reference);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Confirmation still works while this rule instance lives; a restart then cannot confirm this incident.
        }
    }

    private void Forget(int k)
    {
        _store?.Delete(_watches[k].Reference.Incident);
        _watches.RemoveAt(k);
    }

    /// <summary>References kept by an earlier instance of this rule (another process, a rebuilt engine): all ended.</summary>
    private void LoadReferences(DateTimeOffset now)
    {
        _loaded = true;
        if (_store is null) return;
        List<IncidentReference> kept;
        try
        {
            kept = _store.LoadAll(now);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var reference in kept)
        {
            if (reference.Patch.Cols != _grid.Cols || reference.Patch.Rows != _grid.Rows || _watches.Exists(w => w.Reference.Incident == reference.Incident))
            {
                continue;
            }

            _watches.Add(new Watch(reference));
        }

        while (_watches.Count > MaxReferences) Forget(0);
    }

    private static long Key(Guid incident)
    {
        Span<byte> bytes = stackalloc byte[16];
        incident.TryWriteBytes(bytes);
        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    private int ChangedNeighbours(int c, int r)
    {
        var n = 0;
        for (var dr = -1; dr <= 1; dr++)
        {
            var rr = r + dr;
            if ((uint)rr >= (uint)_grid.Rows) continue;
            for (var dc = -1; dc <= 1; dc++)
            {
                var cc = c + dc;
                if ((dr == 0 && dc == 0) || (uint)cc >= (uint)_grid.Cols) continue;
                if (_changedSince[rr * _grid.Cols + cc] != None) n++;
            }
        }

        return n;
    }

    private void End(RuleFrame frame, string detail, TimeSpan endedAt, List<RuleEvent> output)
    {
        if (_incident is { } incident)
        {
            output.Add(NewEvent("scene.change", EventPhase.End, NewId(0, "end", frame.StreamTime), frame, zone: _rule.Zone) with
            {
                IncidentId = incident,
                Box = _incidentBox,
                Confidence = _incidentConfidence,
                Duration = endedAt - _incidentSince,
                Detail = detail,
            });
        }

        _incident = null;
    }

    /// <summary>Ends the open condition and learns the scene afresh (the view may have changed meanwhile).</summary>
    private void Restart(RuleFrame frame, string detail, List<RuleEvent> output)
    {
        End(frame, detail, frame.StreamTime, output);
        foreach (var w in _watches) w.Reset();
        _learnStart = null;
        Learned = false;
        ChangedFraction = 0;
    }
}
