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

    // Serialises trims (TrimAsync); appends need no process lock: the chain's lock is the database's (below).
    private readonly SemaphoreSlim _gate = new(1, 1);

    private const int MaxBatch = 500;
    private readonly Lock _queueGate = new();
    private List<Pending> _queue = [];
    private bool _writing;
    private long _batches;

    private sealed record Pending(AuditEntry Entry, TaskCompletionSource<AuditRecord> Done);

    /// <summary>How many transactions the group writer of <see cref="AppendAsync"/> has committed (one per batch).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>
    /// Appends in a transaction of its own, by group commit: appends that arrive while a batch is being written queue
    /// up and go together in the next transaction, written by one writer at a time, so many concurrent audited
    /// requests (reads above all) cost one transaction per batch instead of one each behind a lock. The task
    /// completes when the record is committed, so a caller that awaits it serves nothing unaudited. A change to
    /// the store is audited with <see cref="AppendInAsync"/> instead, in the change's own transaction.
    /// </summary>
    public Task<AuditRecord> AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(entry, new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool start;
        lock (_queueGate)
        {
            _queue.Add(pending);
            start = !_writing;
            _writing = true;
        }

        // The writer runs while there is work and ends when the queue is empty (nothing to stop at shutdown).
        if (start) _ = Task.Run(WriteQueuedAsync, CancellationToken.None);
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Appends inside the caller's open transaction on <paramref name="db"/> (saving the caller's pending changes
    /// with it), so the record commits or rolls back with the change it describes: no change without its record,
    /// and no record of a change that did not happen. Call it last before the commit: on PostgreSQL it takes the
    /// chain's lock, held until the transaction ends; on SQLite the write transaction already serialises. After the
    /// commit, pass the record to <see cref="Anchor"/>.
    /// </summary>
    public async Task<AuditRecord> AppendInAsync(CivicLensDb db, AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(entry);
        if (db.Database.CurrentTransaction is null) throw new InvalidOperationException("AppendInAsync needs the caller's transaction; begin one first.");
        var records = await ChainAsync(db, [entry], cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        return records[0];
    }

    /// <summary>Moves the anchor file up to a committed record (only after its commit; an anchor a step behind is still valid).</summary>
    public void Anchor(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (anchorPath is not null) WriteAnchor(anchorPath, record.Seq, record.Hash);
    }

    private async Task WriteQueuedAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_queueGate)
            {
                if (_queue.Count == 0)
                {
                    _writing = false;
                    return;
                }

                if (_queue.Count <= MaxBatch)
                {
                    batch = _queue;
                    _queue = [];
                }
                else
                {
                    batch = _queue[..MaxBatch];
                    _queue.RemoveRange(0, MaxBatch);
                }
            }

            try
            {
                var records = await WriteBatchAsync(batch);
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(records[i]);
            }
#pragma warning disable CA1031 // Every failure goes to the callers that wait on the batch, whatever it is.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var p in batch) p.Done.TrySetException(ex);
            }
        }
    }

    private async Task<List<AuditRecord>> WriteBatchAsync(List<Pending> batch)
    {
        // Not cancelled by any one caller: the batch is everyone's.
        await using var db = new CivicLensDb(StorageSetup.Options(options));
        await using var tx = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var records = await ChainAsync(db, batch.Select(p => p.Entry), CancellationToken.None);
        await db.SaveChangesAsync(CancellationToken.None);
        await tx.CommitAsync(CancellationToken.None);
        Interlocked.Increment(ref _batches);
        Anchor(records[^1]);
        return records;
    }

    /// <summary>Chains entries after the newest record, in the caller's transaction (which holds the chain's lock from here to its end).</summary>
    private async Task<List<AuditRecord>> ChainAsync(CivicLensDb db, IEnumerable<AuditEntry> entries, CancellationToken cancellationToken)
    {
        if (options.Provider == StorageProvider.PostgreSql)
        {
            // Several server processes may write; one transaction at a time extends the chain.
            await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock(7361002)", cancellationToken);
        }

        var head = await db.Audit.AsNoTracking().OrderByDescending(a => a.Seq).Select(a => new { a.Seq, a.Hash }).FirstOrDefaultAsync(cancellationToken);
        var seq = head?.Seq ?? 0;
        var previous = head?.Hash ?? Genesis;
        if (head is null && await db.AuditTrims.AsNoTracking().OrderByDescending(t => t.UpToSeq).FirstOrDefaultAsync(cancellationToken) is { } trim)
        {
            // Everything was trimmed: the chain goes on from the trim's link.
            (seq, previous) = (trim.UpToSeq, trim.Hash);
        }

        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        var records = new List<AuditRecord>();
        foreach (var entry in entries)
        {
            var record = new AuditRecord
            {
                Seq = ++seq,
                At = at,
                Actor = entry.Actor,
                Action = entry.Action,
                Target = entry.Target,
                Outcome = entry.Outcome,
                Detail = entry.Detail,
                PreviousHash = previous,
                Hash = "",
            };
            record.Hash = ComputeHash(record);
            previous = record.Hash;
            db.Audit.Add(record);
            records.Add(record);
        }

        return records;
    }

    /// <summary>
    /// The same as <see cref="AppendAsync"/> for callers that cannot await (a synchronous audit hook, such as the
    /// sealed-original store's); it blocks until the record is committed.
    /// </summary>
    public AuditRecord Append(AuditEntry entry) => AppendAsync(entry, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Checks every record from the first, or from the newest trim's link (the first kept record must follow the
    /// trimmed record's hash); reports the first break, if any.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        await using var db = new CivicLensDb(StorageSetup.Options(options));
        var trim = await db.AuditTrims.AsNoTracking().OrderByDescending(t => t.UpToSeq).FirstOrDefaultAsync(cancellationToken);
        var from = trim?.UpToSeq ?? 0;
        var expectedSeq = from + 1;
        var previous = trim?.Hash ?? Genesis;
        await foreach (var r in db.Audit.AsNoTracking().Where(a => a.Seq > from).OrderBy(a => a.Seq).AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            if (r.Seq != expectedSeq) return AuditVerification.Broken(expectedSeq - 1 - from, expectedSeq, $"record {expectedSeq} is missing (next is {r.Seq})");
            if (!string.Equals(r.PreviousHash, previous, StringComparison.Ordinal))
            {
                var after = r.Seq - 1 == from && trim is not null ? $"the trim of records up to {from}" : $"record {r.Seq - 1}";
                return AuditVerification.Broken(expectedSeq - 1 - from, r.Seq, $"record {r.Seq} does not follow {after} (a record was removed or replaced)");
            }

            if (!string.Equals(ComputeHash(r), r.Hash, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(expectedSeq - 1 - from, r.Seq, $"record {r.Seq} was changed after it was written");
            }

            previous = r.Hash;
            expectedSeq++;
        }

        var last = expectedSeq - 1;
        var count = last - from;
        if (anchorPath is not null && ReadAnchor(anchorPath) is { } anchor)
        {
            if (anchor.Seq > last) return AuditVerification.Broken(count, last + 1, $"records {last + 1} to {anchor.Seq} were removed from the end (anchor file says {anchor.Seq})");
            if (anchor.Seq > from && anchor.Seq <= last)
            {
                var atAnchor = await db.Audit.AsNoTracking().Where(a => a.Seq == anchor.Seq).Select(a => a.Hash).FirstAsync(cancellationToken);
                if (!string.Equals(atAnchor, anchor.Hash, StringComparison.Ordinal))
                {
                    return AuditVerification.Broken(anchor.Seq - 1 - from, anchor.Seq, $"record {anchor.Seq} differs from the anchor file (the log was rewritten)");
                }
            }
        }

        return new AuditVerification(true, count, null, null);
    }

    /// <summary>
    /// Removes the records written before <paramref name="before"/>, oldest first, and leaves an <see cref="AuditTrim"/>
    /// with the last removed record's sequence number and hash, so what remains is still one verifiable chain. The
    /// newest record always stays (the chain goes on from it). Returns the trim, or null when nothing was old enough.
    /// </summary>
    public async Task<AuditTrim?> TrimAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var db = new CivicLensDb(StorageSetup.Options(options));
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            if (options.Provider == StorageProvider.PostgreSql)
            {
                // The same lock as appending: no record is added while the chain's start moves.
                await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock(7361002)", cancellationToken);
            }

            var head = await db.Audit.AsNoTracking().MaxAsync(a => (long?)a.Seq, cancellationToken);
            var cutoff = before.ToUnixTimeMilliseconds();
            var upTo = await db.Audit.AsNoTracking().Where(a => a.At < cutoff && a.Seq < head).MaxAsync(a => (long?)a.Seq, cancellationToken);
            if (upTo is not { } seq) return null;
            var last = await db.Audit.AsNoTracking().Where(a => a.Seq == seq).Select(a => a.Hash).FirstAsync(cancellationToken);
            var removed = await db.Audit.Where(a => a.Seq <= seq).ExecuteDeleteAsync(cancellationToken);
            var trim = new AuditTrim { UpToSeq = seq, Hash = last, At = time.GetUtcNow().ToUnixTimeMilliseconds(), Records = removed };
            db.AuditTrims.Add(trim);
            await db.SaveChangesAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return trim;
        }
        finally
        {
            _gate.Release();
        }
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
