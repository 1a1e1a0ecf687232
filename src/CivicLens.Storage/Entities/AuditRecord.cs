namespace CivicLens.Storage.Entities;

/// <summary>
/// One line of the append-only audit log. <see cref="Hash"/> covers every field and the previous record's hash,
/// so editing or removing any record breaks the chain (see <c>AuditLog.VerifyAsync</c>).
/// </summary>
public sealed class AuditRecord
{
    /// <summary>1, 2, 3... without gaps.</summary>
    public long Seq { get; set; }

    /// <summary>Unix ms.</summary>
    public long At { get; set; }

    /// <summary>User name, <c>key:name</c> for API keys, <c>anonymous</c> or <c>system</c>.</summary>
    public required string Actor { get; set; }

    /// <summary>login, login.failed, denied, event.view, snapshot.view, reveal, export, config.change...</summary>
    public required string Action { get; set; }

    public string? Target { get; set; }

    /// <summary>ok, denied, failed.</summary>
    public required string Outcome { get; set; }

    public string? Detail { get; set; }

    public required string PreviousHash { get; set; }

    public required string Hash { get; set; }
}
