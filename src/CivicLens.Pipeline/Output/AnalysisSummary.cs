namespace CivicLens.Pipeline.Output;

/// <summary>Counts gathered while analysing, printed at the end of <c>civiclens analyze</c>.</summary>
public sealed class AnalysisSummary
{
    private readonly Dictionary<string, int> _tracksByLabel = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public long Frames { get; private set; }
    public long TrackUpdates { get; private set; }
    public long Events { get; private set; }
    public long Snapshots { get; set; }
    public long SnapshotsDropped { get; set; }

    /// <summary>Unredacted originals sealed (encrypted) for events, where sealed originals are on.</summary>
    public long OriginalsSealed { get; set; }

    /// <summary>Originals that could not be sealed (disk full or failing); their events were kept.</summary>
    public long OriginalsNotSealed { get; set; }

    /// <summary>Evidence snapshots of open conditions replaced by a better view of the same object.</summary>
    public long EvidenceRefreshed { get; set; }

    public IReadOnlyDictionary<string, int> TracksByLabel
    {
        get
        {
            lock (_gate) return new Dictionary<string, int>(_tracksByLabel);
        }
    }

    private long _firstFrameTimestamp;
    private long _lastFrameTimestamp;

    /// <summary>Wall time from the first to the last analysed frame (excludes model loading and probing).</summary>
    public TimeSpan AnalysisTime => Frames < 2 ? TimeSpan.Zero : System.Diagnostics.Stopwatch.GetElapsedTime(_firstFrameTimestamp, _lastFrameTimestamp);

    /// <summary>Analysed frames per second between the first and the last frame.</summary>
    public double FramesPerSecond => Frames < 2 ? 0 : (Frames - 1) / AnalysisTime.TotalSeconds;

    internal void CountFrame(int trackUpdates)
    {
        lock (_gate)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            if (Frames == 0) _firstFrameTimestamp = now;
            _lastFrameTimestamp = now;
            Frames++;
            TrackUpdates += trackUpdates;
        }
    }

    internal void CountNewTrack(string label)
    {
        lock (_gate)
        {
            _tracksByLabel[label] = _tracksByLabel.GetValueOrDefault(label) + 1;
        }
    }

    private readonly Dictionary<string, int> _ruleEvents = new(StringComparer.Ordinal);

    /// <summary>Rule events by kind (instant events and starts: one per incident).</summary>
    public IReadOnlyDictionary<string, int> RuleEvents
    {
        get
        {
            lock (_gate) return new SortedDictionary<string, int>(_ruleEvents, StringComparer.Ordinal);
        }
    }

    internal void CountRuleEvent(string kind, Rules.Engine.EventPhase phase)
    {
        lock (_gate)
        {
            Events++;
            if (phase is Rules.Engine.EventPhase.Instant or Rules.Engine.EventPhase.Start) _ruleEvents[kind] = _ruleEvents.GetValueOrDefault(kind) + 1;
        }
    }

    internal void CountEvent()
    {
        lock (_gate) Events++;
    }

    // Live tracks (bounded by what the tracker holds) and the few longest finished ones: a long run keeps no history.
    private readonly Dictionary<(string Camera, long Id), TrackSpan> _live = [];
    private readonly List<TrackSpan> _longestEnded = [];
    private const int LongestKept = 5;

    /// <summary>The longest-lived tracks so far (ended or still live), longest first.</summary>
    public IReadOnlyList<TrackSpan> LongestTracks
    {
        get
        {
            lock (_gate) return _live.Values.Concat(_longestEnded).OrderByDescending(t => t.Duration).Take(LongestKept).ToList();
        }
    }

    internal void ObserveTrack(string camera, long id, string label, TimeSpan first, TimeSpan last, bool ended)
    {
        lock (_gate)
        {
            var span = new TrackSpan(id, label, first, last);
            // Track ids are per camera: two cameras' track 4 are different objects.
            if (!ended)
            {
                _live[(camera, id)] = span;
                return;
            }

            _live.Remove((camera, id));
            _longestEnded.Add(span);
            if (_longestEnded.Count > LongestKept)
            {
                _longestEnded.Sort((a, b) => b.Duration.CompareTo(a.Duration));
                _longestEnded.RemoveAt(LongestKept);
            }
        }
    }
}

/// <summary>One track's life in stream time.</summary>
public readonly record struct TrackSpan(long Id, string Label, TimeSpan First, TimeSpan Last)
{
    public TimeSpan Duration => Last - First;
}
