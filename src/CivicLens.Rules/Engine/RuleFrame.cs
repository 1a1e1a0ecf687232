using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Tracking;

namespace CivicLens.Rules.Engine;

/// <summary>
/// What a camera's rules see of one frame. Boxes are already in the camera's configured pixel space
/// (the engine scales them when the stream's resolution differs). Reused for every frame: copy what you keep.
/// </summary>
public sealed class RuleFrame
{
    public Frame? Frame { get; set; }

    public TimeSpan StreamTime { get; set; }

    public DateTimeOffset At { get; set; }

    /// <summary>False when the motion gate skipped the detector: nothing moved, tracks keep their state.</summary>
    public bool Detected { get; set; }

    /// <summary>Tracks matched in this frame (New, Tracked) and tracks that ended in it (Removed).</summary>
    public List<TrackedObject> Tracks { get; } = new(64);

    /// <summary>Every confirmed track alive after this frame, including ones briefly lost (occluded).</summary>
    public List<TrackedObject> Alive { get; } = new(64);

    /// <summary>Raw detections of this frame.</summary>
    public List<Detection> Detections { get; } = new(64);
}
