using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Storage.Audit;

/// <summary>An audit entry before it is chained.</summary>
public sealed record AuditEntry(string Actor, string Action, string Outcome, string? Target = null, string? Detail = null);

/// <summary>
/// The append-only, hash-chained audit log. Each record's hash covers its fields and the previous hash, so an
/// edited record no longer matches its hash and a removed one breaks the chain or the sequence. The newest
/// sequence number and hash are also written to an anchor file outside the database, so cutting records off the
/// end is detected too.
/// </summary>
public sealed class AuditLog(StorageOptions options, TimeProvider time, string? anchorPath = null) : IDisposable
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var db = new CivicLensDb(StorageSetup.Options(options));
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            if (options.Provider == StorageProvider.PostgreSql)
            {
                // Several server processes may write; one at a time extends the chain.
                await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock(7361002)", cancellationToken);
            }

            var head = await db.Audit.AsNoTracking().OrderByDescending(a => a.Seq).Select(a => new { a.Seq, a.Hash }).FirstOrDefaultAsync(cancellationToken);
            var record = new AuditRecord
            {
                Seq = (head?.Seq ?? 0) + 1,
                At = time.GetUtcNow().ToUnixTimeMilliseconds(),
                Actor = entry.Actor,
                Action = entry.Action,
                Target = entry.Target,
                Outcome = entry.Outcome,
                Detail = entry.Detail,
                PreviousHash = head?.Hash ?? Genesis,
                Hash = "",
            };
            record.Hash = ComputeHash(record);
            db.Audit.Add(record);
            await db.SaveChangesAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
            if (anchorPath is not null) WriteAnchor(anchorPath, record.Seq, record.Hash);
            return record;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The same as <see cref="AppendAsync"/> for callers that cannot await (a synchronous audit hook, such as the
    /// sealed-original store's); it blocks until the record is committed.
    /// </summary>
    public AuditRecord Append(AuditEntry entry) => AppendAsync(entry, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Checks every record from the first; reports the first break, if any.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        await using var db = new CivicLensDb(StorageSetup.Options(options));
        var expectedSeq = 1L;
        var previous = Genesis;
        await foreach (var r in db.Audit.AsNoTracking().OrderBy(a => a.Seq).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            if (r.Seq != expectedSeq) return AuditVerification.Broken(expectedSeq - 1, expectedSeq, $"record {expectedSeq} is missing (next is {r.Seq})");
            if (!string.Equals(r.PreviousHash, previous, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(expectedSeq - 1, r.Seq, $"record {r.Seq} does not follow record {r.Seq - 1} (a record was removed or replaced)");
            }

            if (!string.Equals(ComputeHash(r), r.Hash, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(expectedSeq - 1, r.Seq, $"record {r.Seq} was changed after it was written");
            }

            previous = r.Hash;
            expectedSeq++;
        }

        var count = expectedSeq - 1;
        if (anchorPath is not null && ReadAnchor(anchorPath) is { } anchor)
        {
            if (anchor.Seq > count) return AuditVerification.Broken(count, count + 1, $"records {count + 1} to {anchor.Seq} were removed from the end (anchor file says {anchor.Seq})");
            if (anchor.Seq > 0 && anchor.Seq <= count)
            {
                var atAnchor = await db.Audit.AsNoTracking().Where(a => a.Seq == anchor.Seq).Select(a => a.Hash).FirstAsync(cancellationToken);
                if (!string.Equals(atAnchor, anchor.Hash, StringComparison.Ordinal))
                {
                    return AuditVerification.Broken(anchor.Seq - 1, anchor.Seq, $"record {anchor.Seq} differs from the anchor file (the log was rewritten)");
                }
            }
        }

        return new AuditVerification(true, count, null, null);
    }

    public void Dispose() => _gate.Dispose();

    public static string ComputeHash(AuditRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        // Length-prefixed fields: no two different records can produce the same text.
        var sb = new StringBuilder(256);
        void Field(string? v) => sb.Append(v is null ? "-1" : v.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(v).Append('|');
        Field(r.Seq.ToString(CultureInfo.InvariantCulture));
        Field(r.At.ToString(CultureInfo.InvariantCulture));
        Field(r.Actor);
        Field(r.Action);
        Field(r.Target);
        Field(r.Outcome);
        Field(r.Detail);
        Field(r.PreviousHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    // Writers in several processes (PostgreSQL) each commit under the advisory lock but write the anchor after it:
    // each writes its own temporary file, and a writer whose record is older than the anchor leaves it. An anchor a
    // step behind is still a valid anchor (it only vouches for fewer records); a missing one would not be.
    private static readonly Lock AnchorGate = new();

    private static void WriteAnchor(string path, long seq, string hash)
    {
        var tmp = string.Create(CultureInfo.InvariantCulture, $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(tmp, string.Create(CultureInfo.InvariantCulture, $"{seq} {hash}\n"));
        lock (AnchorGate)
        {
            if (ReadAnchor(path) is { } current && current.Seq >= seq)
            {
                File.Delete(tmp);
                return;
            }

            File.Move(tmp, path, overwrite: true);
        }
    }

    private static (long Seq, string Hash)? ReadAnchor(string path)
    {
        if (!File.Exists(path)) return null;
        var parts = File.ReadAllText(path).Trim().Split(' ');
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? (seq, parts[1]) : null;
    }
}

/// <summary>The result of <see cref="AuditLog.VerifyAsync"/>: intact, or where the chain first breaks.</summary>
public sealed record AuditVerification(bool Intact, long RecordsVerified, long? BrokenAt, string? Problem)
{
    public static AuditVerification Broken(long verified, long at, string problem) => new(false, verified, at, problem);
}
