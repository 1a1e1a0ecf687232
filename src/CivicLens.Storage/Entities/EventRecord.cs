namespace CivicLens.Storage.Entities;

/// <summary>
/// A stored event. Its id is the pipeline's deterministic id, so a replay is a no-op. It holds no track id and
/// nothing that identifies a person: a label, a count, a box and the redacted evidence's file name.
/// </summary>
public sealed class EventRecord
{
    public Guid Id { get; set; }

    public required string Kind { get; set; }

    /// <summary>instant, start, update or end.</summary>
    public required string Phase { get; set; }

    public required string CameraId { get; set; }

    public required string Rule { get; set; }

    public required string Category { get; set; }

    public string? Zone { get; set; }

    public string? Line { get; set; }

    public string? SiteId { get; set; }

    /// <summary>The camera's area at ingest: what area scoping filters on.</summary>
    public required string AreaId { get; set; }

    /// <summary>Unix ms when it happened.</summary>
    public long At { get; set; }

    /// <summary>Unix ms when it was committed.</summary>
    public long StoredAt { get; set; }

    public Guid? IncidentId { get; set; }

    public string? Label { get; set; }

    public int? Count { get; set; }

    public float Confidence { get; set; }

    /// <summary>x,y,w,h in the frame's pixels.</summary>
    public string? Box { get; set; }

    public long? DurationMs { get; set; }

    public string? Direction { get; set; }

    public string? Detail { get; set; }

    /// <summary>File name of the redacted evidence snapshot, if any.</summary>
    public string? Snapshot { get; set; }

    /// <summary>new, acknowledged, dismissed (false positive) or cased.</summary>
    public string State { get; set; } = "new";

    public long? CaseId { get; set; }
}
