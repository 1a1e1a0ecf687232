namespace CivicLens.Storage.Entities;

/// <summary>
/// A problem reported by a person (patrol staff, a citizen, an Open311 client). Holds what is needed to fix it
/// and to tell the reporter, nothing more: no device identifier, no address of the reporter, no IP address;
/// an optional contact is sealed (AES-GCM) and purged with the report.
/// </summary>
public sealed class ReportRecord
{
    public long Id { get; set; }

    /// <summary>The reporter's handle on the public status page (random, 128 bits, URL-safe).</summary>
    public required string Token { get; set; }

    /// <summary><c>staff</c>, <c>public</c>, <c>open311</c>.</summary>
    public required string Source { get; set; }

    /// <summary>SHA-256 of the client's idempotency key in its namespace (source and account): a retry finds its report.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>SHA-256 of what was submitted, so a reused key with other content is refused instead of answered.</summary>
    public string? ContentHash { get; set; }

    /// <summary>The staff account or API key that submitted it; null for a citizen.</summary>
    public string? SubmittedBy { get; set; }

    public required string Category { get; set; }

    public string? Description { get; set; }

    public double Latitude { get; set; }

    public double Longitude { get; set; }

    /// <summary>What the reporter typed as the place (Open311 <c>address_string</c>), optional.</summary>
    public string? Address { get; set; }

    public required string AreaId { get; set; }

    public string? SiteId { get; set; }

    /// <summary>The reporter's contact (email or phone), sealed with the data key; optional.</summary>
    public string? ContactSealed { get; set; }

    public long SubmittedAt { get; set; }

    public long? CaseId { get; set; }

    /// <summary>Warnings for the operator, comma-separated (<c>photo-far-from-pin</c>).</summary>
    public string? Flags { get; set; }

    /// <summary>
    /// The reporter agreed to one message when the problem is fixed or closed (only with a contact). Cleared with
    /// the contact.
    /// </summary>
    public bool NotifyReporter { get; set; }

    /// <summary>Unix ms the reporter was told of the outcome (once only).</summary>
    public long? ReporterNotifiedAt { get; set; }

    /// <summary>Unix ms the contact was deleted by retention (the report stays, without it).</summary>
    public long? ContactDeletedAt { get; set; }

    /// <summary>Open311 <c>attribute[code]</c> answers as a JSON object of code to value (or values); null when none.</summary>
    public string? Attributes { get; set; }

    public List<ReportPhoto> Photos { get; set; } = [];
}

/// <summary>A report's photo: re-encoded, metadata-free and redacted before it was written; the name is ours.</summary>
public sealed class ReportPhoto
{
    public long Id { get; set; }

    public long ReportId { get; set; }

    /// <summary>The file under the data folder's <c>reports/</c> (server-generated).</summary>
    public required string FileName { get; set; }

    public required string Sha256 { get; set; }

    public int Width { get; set; }

    public int Height { get; set; }

    public long Length { get; set; }
}

/// <summary>A likely duplicate (same category, near, recent), shown to the operator; merged only on confirmation.</summary>
public sealed class CaseSuggestion
{
    public long Id { get; set; }

    /// <summary>The newer case that may duplicate <see cref="TargetCaseId"/>.</summary>
    public long CaseId { get; set; }

    public long TargetCaseId { get; set; }

    public double Metres { get; set; }

    public long CreatedAt { get; set; }

    /// <summary><c>pending</c>, <c>merged</c>, <c>rejected</c>.</summary>
    public string State { get; set; } = "pending";

    public string? DecidedBy { get; set; }
}

/// <summary>
/// A zone or line of a camera drawn in the console: it replaces the configuration file's geometry of that id
/// and survives restarts. <see cref="Geometry"/> is JSON (<c>[[x,y],...]</c> for a zone, <c>{"from":..}</c> for a line).
/// </summary>
public sealed class CameraGeometry
{
    public required string CameraId { get; set; }

    /// <summary><c>zone</c> or <c>line</c>.</summary>
    public required string Kind { get; set; }

    public required string ItemId { get; set; }

    public required string Geometry { get; set; }

    public int Version { get; set; }

    public required string UpdatedBy { get; set; }

    public long UpdatedAt { get; set; }
}
