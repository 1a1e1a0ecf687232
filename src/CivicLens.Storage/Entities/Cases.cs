namespace CivicLens.Storage.Entities;

/// <summary>A problem being fixed: gathers events (and, later, reports) and moves through its states.</summary>
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
