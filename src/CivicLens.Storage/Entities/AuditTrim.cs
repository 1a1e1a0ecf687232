namespace CivicLens.Storage.Entities;

/// <summary>
/// Where the audit log was cut by its retention: the last removed record's sequence number and hash, so the chain
/// that remains is still verified from a known link (the first kept record must follow this hash).
/// </summary>
public sealed class AuditTrim
{
    public long Id { get; set; }

    /// <summary>The newest removed record's sequence number.</summary>
    public long UpToSeq { get; set; }

    /// <summary>The newest removed record's hash (the next record's previous hash).</summary>
    public required string Hash { get; set; }

    /// <summary>Unix ms of the trim.</summary>
    public long At { get; set; }

    /// <summary>How many records this trim removed.</summary>
    public long Records { get; set; }
}
