namespace CivicLens.Storage.Entities;

/// <summary>A problem being fixed: gathers camera events and field reports, and moves through its states.</summary>
public sealed class CaseRecord
{
    public long Id { get; set; }

    public required string Title { get; set; }

    public required string Category { get; set; }

    /// <summary>open, acknowledged, in_progress, fixed, closed.</summary>
    public string State { get; set; } = "open";

    public required string DepartmentId { get; set; }

    public required string AreaId { get; set; }

    public string? SiteId { get; set; }

    public long? AssigneeId { get; set; }

    public long OpenedAt { get; set; }

    /// <summary>Unix ms by which it must be fixed (the category's SLA).</summary>
    public long? DueAt { get; set; }

    /// <summary>Unix ms by which the department must acknowledge it (the category's SLA).</summary>
    public long? AcknowledgeDueAt { get; set; }

    public long? AcknowledgedAt { get; set; }

    public long? FixedAt { get; set; }

    /// <summary>The problem's place (WGS84), from the report's pin or the camera's position.</summary>
    public double? Latitude { get; set; }

    public double? Longitude { get; set; }

    /// <summary>Why routing chose the department (category x area, fallback, after hours).</summary>
    public string? RouteReason { get; set; }

    /// <summary>The breach already escalated (<c>acknowledge</c>, <c>fix</c>), so it is escalated once.</summary>
    public string? EscalatedFor { get; set; }

    public long? EscalatedAt { get; set; }

    /// <summary>
    /// Camera verification of a fix: null (none asked), <c>awaiting-camera</c>, <c>confirmed</c>; with the camera
    /// and zone whose change-detection rule must see the problem gone.
    /// </summary>
    public string? Verification { get; set; }

    public string? VerifyCameraId { get; set; }

    public string? VerifyZone { get; set; }

    /// <summary>
    /// The request this case is forwarded as in a department's own Open311 system (its <c>service_request_id</c>),
    /// so updates go to one remote request and its status is read back; null until the remote gives one.
    /// </summary>
    public string? RemoteRequestId { get; set; }

    /// <summary>The department whose endpoint holds <see cref="RemoteRequestId"/>.</summary>
    public string? RemoteDepartmentId { get; set; }

    /// <summary>The remote request's last status as read back (<c>open</c>, <c>closed</c>), and when (Unix ms).</summary>
    public string? RemoteStatus { get; set; }

    public long? RemoteCheckedAt { get; set; }

    /// <summary>The case this one was merged into (it is then closed).</summary>
    public long? MergedInto { get; set; }

    public long? ClosedAt { get; set; }

    /// <summary>Optimistic concurrency: two operators cannot overwrite each other's change.</summary>
    public int Version { get; set; }

    public List<CaseChange> History { get; set; } = [];
}

/// <summary>One line of a case's history: who changed what, when.</summary>
public sealed class CaseChange
{
    public long Id { get; set; }

    public long CaseId { get; set; }

    public long At { get; set; }

    public required string Actor { get; set; }

    public required string Change { get; set; }
}
