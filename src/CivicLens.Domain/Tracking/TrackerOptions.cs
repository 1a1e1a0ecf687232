namespace CivicLens.Domain.Tracking;

/// <summary>
/// Settings of <see cref="ObjectTracker"/>. Defaults follow ByteTrack (Zhang et al. 2021) with a slightly
/// lower high-score threshold, because small CCTV objects score lower than MOT17 pedestrians.
/// </summary>
public sealed record TrackerOptions
{
    public static TrackerOptions Default { get; } = new();

    /// <summary>Detections at or above this score take part in the first association stage.</summary>
    public float HighScoreThreshold { get; init; } = 0.45f;

    /// <summary>Detections below this score are ignored; between this and <see cref="HighScoreThreshold"/> they only keep tracks alive.</summary>
    public float LowScoreThreshold { get; init; } = 0.15f;

    /// <summary>An unmatched high-score detection starts a new (unconfirmed) track only at or above this score.</summary>
    public float NewTrackThreshold { get; init; } = 0.5f;

    /// <summary>Least IoU between a predicted track box and a high-score detection for them to match (stage 1).</summary>
    public float MatchIouThreshold { get; init; } = 0.2f;

    /// <summary>Least IoU for a low-score detection to keep a tracked track alive (stage 2): stricter, as those detections are doubtful.</summary>
    public float SecondStageIouThreshold { get; init; } = 0.5f;

    /// <summary>Least IoU for an unconfirmed track to match a leftover high-score detection (stage 3).</summary>
    public float UnconfirmedIouThreshold { get; init; } = 0.3f;

    /// <summary>How long, in stream time since its last detection, a lost track is kept before it is removed.</summary>
    public TimeSpan MaxLostTime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Frames with a matched detection a track needs before it gets an id and is reported.</summary>
    public int MinHitsToConfirm { get; init; } = 2;

    /// <summary>When true a detection never matches a track of another class; when false a track takes the class of its latest detection.</summary>
    public bool ClassAware { get; init; } = true;

    /// <summary>
    /// With <see cref="ClassAware"/>, classes that may match each other: entry i is the group of class id i (classes
    /// beyond the list form their own group). Detectors flip between "truck", "bus" and "car" on the same van; grouping
    /// them keeps one track, while a person still never takes a vehicle's track.
    /// </summary>
    public IReadOnlyList<int>? ClassGroups { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that makes no sense.</summary>
    public void Validate()
    {
        CheckUnit(HighScoreThreshold, nameof(HighScoreThreshold));
        CheckUnit(LowScoreThreshold, nameof(LowScoreThreshold));
        CheckUnit(NewTrackThreshold, nameof(NewTrackThreshold));
        CheckUnit(MatchIouThreshold, nameof(MatchIouThreshold));
        CheckUnit(SecondStageIouThreshold, nameof(SecondStageIouThreshold));
        CheckUnit(UnconfirmedIouThreshold, nameof(UnconfirmedIouThreshold));
        if (LowScoreThreshold > HighScoreThreshold)
        {
            throw new ArgumentException(
                $"{nameof(LowScoreThreshold)} ({LowScoreThreshold}) must not exceed {nameof(HighScoreThreshold)} ({HighScoreThreshold}).",
                nameof(LowScoreThreshold));
        }

        if (NewTrackThreshold < HighScoreThreshold)
        {
            throw new ArgumentException(
                $"{nameof(NewTrackThreshold)} ({NewTrackThreshold}) must be at least {nameof(HighScoreThreshold)} ({HighScoreThreshold}): only high-score detections start tracks.",
                nameof(NewTrackThreshold));
        }

        if (MaxLostTime < TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(MaxLostTime)} ({MaxLostTime}) must not be negative.", nameof(MaxLostTime));
        }

        if (MinHitsToConfirm < 1)
        {
            throw new ArgumentException($"{nameof(MinHitsToConfirm)} ({MinHitsToConfirm}) must be at least 1.", nameof(MinHitsToConfirm));
        }
    }

    private static void CheckUnit(float value, string name)
    {
        if (!(value >= 0f && value <= 1f))
        {
            throw new ArgumentException($"{name} ({value}) must be between 0 and 1.", name);
        }
    }
}
