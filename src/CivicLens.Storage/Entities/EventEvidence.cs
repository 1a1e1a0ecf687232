namespace CivicLens.Storage.Entities;

/// <summary>
/// Another camera's redacted view of an event at a site it also covers ("three angles"): the file is in the
/// snapshot folder, named by the pipeline, and goes with that camera's snapshot retention; the row goes with its event.
/// </summary>
public sealed class EventEvidence
{
    public long Id { get; set; }

    public Guid EventId { get; set; }

    /// <summary>The camera that took this view (not the event's own camera).</summary>
    public required string CameraId { get; set; }

    /// <summary>The redacted JPEG's file name in the snapshot folder.</summary>
    public required string Snapshot { get; set; }

    /// <summary>Unix ms of the frame.</summary>
    public long At { get; set; }
}
