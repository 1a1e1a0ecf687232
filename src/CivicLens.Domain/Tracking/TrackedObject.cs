using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Tracking;

/// <summary>
/// One track as the tracker reports it. <paramref name="TrackId"/> is anonymous and only means something
/// inside the camera whose tracker produced it (see <see cref="ObjectTracker"/>).
/// </summary>
/// <param name="TrackId">Small sequential number, 1 for the first track a tracker instance confirms.</param>
/// <param name="ClassId">Detector class of the track.</param>
/// <param name="Box">Kalman-filtered box for matched tracks; the last filtered box for removed and lost ones.</param>
/// <param name="Score">Score of the detection last matched.</param>
/// <param name="State">See <see cref="TrackState"/>.</param>
/// <param name="FirstSeen">Stream time of the first detection of the track (before it was confirmed).</param>
/// <param name="LastSeen">Stream time of the last detection matched to the track.</param>
/// <param name="Hits">Number of frames in which a detection was matched to the track.</param>
/// <param name="VelocityX">Filtered horizontal speed of the box centre in pixels per second of stream time.</param>
/// <param name="VelocityY">Filtered vertical speed of the box centre in pixels per second of stream time.</param>
public readonly record struct TrackedObject(
    long TrackId,
    int ClassId,
    BoxF Box,
    float Score,
    TrackState State,
    TimeSpan FirstSeen,
    TimeSpan LastSeen,
    int Hits,
    float VelocityX,
    float VelocityY)
{
    /// <summary>Speed of the box centre in pixels per second.</summary>
    public float Speed => MathF.Sqrt(VelocityX * VelocityX + VelocityY * VelocityY);
}
