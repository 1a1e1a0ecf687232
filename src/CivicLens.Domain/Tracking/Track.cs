using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Tracking;

/// <summary>Mutable state of one track; instances are pooled by <see cref="ObjectTracker"/> and reused.</summary>
internal sealed class Track
{
    public BoxKalmanFilter Filter;

    /// <summary>0 until confirmed: unconfirmed candidates use no id, so confirmed ids stay gap-free.</summary>
    public long Id;
    public int ClassId;
    public bool Confirmed;
    public bool Lost;
    public TimeSpan FirstSeen;
    public TimeSpan LastSeen;
    public int Hits;
    public float Score;

    /// <summary>Filtered box and velocity right after the last matched detection.</summary>
    public BoxF LastBox;
    public float LastVelocityX;
    public float LastVelocityY;

    /// <summary>Box predicted for the current frame, the one association compares against.</summary>
    public BoxF Predicted;
    public bool Matched;
    public bool JustConfirmed;

    public void Start(in Detection.Detection detection, TimeSpan time)
    {
        Filter = default;
        Filter.Initiate(detection.Box);
        Id = 0;
        ClassId = detection.ClassId;
        Confirmed = false;
        Lost = false;
        FirstSeen = time;
        Hits = 0;
        Matched = false;
        JustConfirmed = false;
        Observe(detection, time);
    }

    public void Observe(in Detection.Detection detection, TimeSpan time)
    {
        Filter.Update(detection.Box);
        // Hysteresis: within a class group the label changes only when the new class is clearly more confident.
        if (detection.ClassId != ClassId && (Hits == 0 || detection.Score > Score + 0.1f)) ClassId = detection.ClassId;
        Score = detection.Score;
        LastSeen = time;
        Hits++;
        Lost = false;
        Matched = true;
        LastBox = Filter.Box;
        LastVelocityX = (float)Filter.VelocityX;
        LastVelocityY = (float)Filter.VelocityY;
    }

    public TrackedObject ToTrackedObject(TrackState state) =>
        new(Id, ClassId, LastBox, Score, state, FirstSeen, LastSeen, Hits, LastVelocityX, LastVelocityY);
}
