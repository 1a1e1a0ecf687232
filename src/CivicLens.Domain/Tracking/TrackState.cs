namespace CivicLens.Domain.Tracking;

/// <summary>Where a confirmed track stands in its life.</summary>
public enum TrackState
{
    /// <summary>Confirmed in this frame for the first time: the pipeline's "appeared" moment.</summary>
    New,

    /// <summary>Matched to a detection in this frame.</summary>
    Tracked,

    /// <summary>Not matched recently; kept (and predicted) for up to <see cref="TrackerOptions.MaxLostTime"/> to survive occlusion.</summary>
    Lost,

    /// <summary>Ended in this frame; its id is never used again by the same tracker.</summary>
    Removed,
}
