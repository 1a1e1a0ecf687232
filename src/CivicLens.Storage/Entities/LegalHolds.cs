namespace CivicLens.Storage.Entities;

/// <summary>
/// A legal hold: what it names is kept past its retention until the hold expires or is released. It names a case,
/// an event, a report, or a camera's evidence over a time span; it always carries the case reference it serves and
/// a reason. Released holds stay as the record of what was held, by whom and why.
/// </summary>
public sealed class LegalHoldRecord
{
    public long Id { get; set; }

    /// <summary><c>case</c>, <c>event</c>, <c>report</c>, <c>camera</c>.</summary>
    public required string Scope { get; set; }

    /// <summary>The case or report id, the event id (GUID) or the camera id.</summary>
    public required string Target { get; set; }

    /// <summary>For a camera: the start of the held span (Unix ms); null otherwise.</summary>
    public long? From { get; set; }

    /// <summary>For a camera: the end of the held span (Unix ms); null otherwise.</summary>
    public long? To { get; set; }

    /// <summary>The legal matter's reference (court, police or insurer's case number).</summary>
    public required string CaseReference { get; set; }

    public required string Reason { get; set; }

    public required string CreatedBy { get; set; }

    public long CreatedAt { get; set; }

    /// <summary>Unix ms the hold ends on its own; extending it moves this.</summary>
    public long ExpiresAt { get; set; }

    public long? ReleasedAt { get; set; }

    public string? ReleasedBy { get; set; }

    public string? ReleaseReason { get; set; }
}
