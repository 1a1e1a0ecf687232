using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Tracking;

namespace CivicLens.Pipeline;

/// <summary>
/// What one camera loop learned from one frame. One instance per camera is reused for every frame:
/// observers must copy what they keep, and call <see cref="Frame.AddReference"/> to hold the frame.
/// </summary>
public sealed class FrameAnalysis
{
    internal FrameAnalysis(string camera) => Camera = camera;

    public string Camera { get; }

    public Frame Frame { get; internal set; } = null!;

    /// <summary>False when the motion gate found the scene still and the detector was skipped.</summary>
    public bool Detected { get; internal set; }

    /// <summary>Raw detections of this frame (empty when <see cref="Detected"/> is false).</summary>
    public List<Detection> Detections { get; } = new(64);

    /// <summary>Confirmed tracks updated by this frame, plus tracks that just ended (state Removed).</summary>
    public List<TrackedObject> Tracks { get; } = new(64);

    /// <summary>Every confirmed track alive after this frame (New, Tracked or Lost); unchanged on still frames.</summary>
    public List<TrackedObject> Alive { get; } = new(64);

    /// <summary>True on the first frame after the source restarted: track ids and the stream clock started over.</summary>
    public bool Restarted { get; internal set; }
}

/// <summary>Receives each camera loop's results; called on that camera's loop, one frame at a time.</summary>
public interface IPipelineObserver
{
    ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken);

    void OnHealth(SourceHealth health);
}
