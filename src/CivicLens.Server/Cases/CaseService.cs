using CivicLens.Reports.Cases;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cases;

/// <summary>What a case command came to: the changed case, or why not (404 not found, 409 refused, 400 bad input).</summary>
public sealed record CaseCommandResult(CaseRecord? Case, int Status, string? Problem)
{
    /// <summary>The other case a command changed (a merge's survivor).</summary>
    public CaseRecord? Other { get; init; }

    public bool Succeeded => Problem is null && Case is not null;

    public static CaseCommandResult Done(CaseRecord c) => new(c, StatusCodes.Status200OK, null);

    /// <summary>Nothing to do (e.g. no breach to escalate): no change, no commit.</summary>
    public static CaseCommandResult Unchanged(CaseRecord c) => new(c, StatusCodes.Status204NoContent, null);

    /// <summary>Not found (or not in the caller's areas); <see cref="Problem"/> names what.</summary>
    public static CaseCommandResult NotFound(string what) => new(null, StatusCodes.Status404NotFound, what);

    public static CaseCommandResult Conflict(string problem) => new(null, StatusCodes.Status409Conflict, problem);

    public static CaseCommandResult BadRequest(string problem) => new(null, StatusCodes.Status400BadRequest, problem);
}

/// <summary>
/// The one way a case changes: loads its <see cref="CaseRecord"/>, lets the <see cref="Case"/> aggregate apply its
/// rules, and commits the new fields, the history lines, the departments' notices and the reporters' messages
/// (outbox rows) and the audit record in ONE database transaction, then tells the live feed. A failure anywhere,
/// the audit insert included, rolls all of it back: no change without its notices and its audit record.
/// </summary>
public sealed class CaseService(IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, CaseVerifier verifier, AuditLog audit, LiveNotifier live, TimeProvider time)
{
    /// <summary>An operator moves a case to <paramref name="state"/> (a fix may wait for a camera; a fixed case may be reopened).</summary>
    public async Task<CaseCommandResult> TransitionAsync(long id, string? state, int version, string? note, string actor, IReadOnlyCollection<string>? areas,
        CancellationToken ct)
    {
        // Checked once the case is found: a case out of the caller's areas is not found, whatever the body says.
        var known = CaseStateNames.TryParse(state, out var to);
        var result = await ChangeAsync(id, version, areas, actor, async (db, record, c, now) =>
        {
            if (!known) throw new ArgumentException($"unknown state '{state}' (states: {string.Join(", ", Enum.GetValues<CaseState>().Select(s => s.Name()))})");
            CameraWatch? watch = null;
            if (to == CaseState.Fixed && Case.CanMove(c.State, to))
            {
                var linked = await db.Events.Where(e => e.CaseId == record.Id).Select(e => e.CameraId).Distinct().ToListAsync(ct);
                if (await verifier.CameraAsync(record, linked, ct) is { } w) watch = new CameraWatch(w.Camera, w.Zone);
            }

            return c.MoveTo(to, actor, now, note, watch);
        }, ct);
        // The zone may already be clear: the camera confirms at once (in its own transaction, after this one).
        if (result is { Succeeded: true, Case: { } done } && to == CaseState.Fixed) await verifier.CheckNowAsync(done, ct);
        return result;
    }

    /// <summary>
    /// Closes a case for a reason, whatever its version (a remote system's status read back, an operator's
    /// decision elsewhere): reporters who asked are told. Refused only by the rules (already closed; a fix still
    /// waiting for its camera needs a reason, which this always gives).
    /// </summary>
    public Task<CaseCommandResult> CloseAsync(long id, string reason, string actor, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return ChangeAsync(id, null, null, actor, (_, _, c, now) => Task.FromResult<CaseChangeSet?>(c.Close(actor, now, reason)), ct);
    }

    /// <summary>
    /// The watching camera saw the zone clean again (<see cref="CaseVerifier"/>): a fixed case waiting for it closes,
    /// confirmed, with its audit record in the same transaction. An operator's change made meanwhile wins (a conflict).
    /// </summary>
    public Task<CaseCommandResult> ConfirmByCameraAsync(long id, string seen, CancellationToken ct) =>
        ChangeAsync(id, null, null, "system", (_, _, c, now) => Task.FromResult<CaseChangeSet?>(c.ConfirmByCamera(now, seen)), ct);

    /// <summary>Gives a case to an active operator (by name), or to nobody.</summary>
    public Task<CaseCommandResult> AssignAsync(long id, string? userName, int version, string actor, IReadOnlyCollection<string>? areas, CancellationToken ct) =>
        ChangeAsync(id, version, areas, actor, async (db, _, c, now) =>
        {
            // Checked once the case is found, so a case out of the caller's areas is not found whatever the body names.
            User? assignee = null;
            if (userName is not null)
            {
                assignee = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.UserName == userName && !u.Disabled, ct);
                if (assignee is null || assignee.Role != Accounts.Roles.Operator) throw new ArgumentException($"'{userName}' is not an active operator");
            }

            return c.Assign(actor, assignee?.Id, assignee?.UserName, now);
        }, ct);

    /// <summary>Escalates the case's SLA breach, if it is in one not yet escalated (<see cref="CaseCommandResult.Unchanged"/> otherwise).</summary>
    public Task<CaseCommandResult> EscalateAsync(long id, CancellationToken ct) =>
        ChangeAsync(id, null, null, "system", (_, record, c, now) => Task.FromResult(c.Escalate(now, desk.Router.EscalationOf(record.DepartmentId))), ct);

    /// <summary>
    /// Merges case <paramref name="id"/> into <paramref name="into"/>: its reports and events move, it closes pointing
    /// at the survivor, whose department is told of the reports added; reporters follow the survivor.
    /// </summary>
    public async Task<CaseCommandResult> MergeAsync(long id, long into, int version, string actor, IReadOnlyCollection<string>? areas, CancellationToken ct)
    {
        if (into == id) return CaseCommandResult.BadRequest("a case cannot be merged into itself");
        var now = time.GetUtcNow();
        await using var db = await dbs.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var merged = await Scoped(db, areas).FirstOrDefaultAsync(x => x.Id == id, ct);
        var survivor = await Scoped(db, areas).FirstOrDefaultAsync(x => x.Id == into, ct);
        if (merged is null) return CaseCommandResult.NotFound("case");
        if (survivor is null) return CaseCommandResult.NotFound("case to merge into");
        var a = ToDomain(merged);
        var b = ToDomain(survivor);
        var reports = await db.Reports.Where(r => r.CaseId == id).ToListAsync(ct);
        var events = await db.Events.Where(e => e.CaseId == id).ToListAsync(ct);
        CaseChangeSet mergedChange, survivorChange;
        try
        {
            a.ExpectVersion(version);
            (mergedChange, survivorChange) = a.MergeInto(b, actor, now, reports.Count, events.Count);
        }
        catch (CaseRuleException ex)
        {
            return CaseCommandResult.Conflict(ex.Message);
        }

        foreach (var r in reports) r.CaseId = into;
        foreach (var e in events) e.CaseId = into;
        foreach (var s in await db.CaseSuggestions.Where(s => (s.CaseId == id && s.TargetCaseId == into) || (s.CaseId == into && s.TargetCaseId == id)).ToListAsync(ct))
        {
            s.State = "merged";
            s.DecidedBy = actor;
        }

        Apply(a, merged);
        Apply(b, survivor);
        if (!await CommitAsync(db, tx, [(merged, mergedChange), (survivor, survivorChange)], actor, now, ct)) return CaseCommandResult.Conflict("a case changed meanwhile; reload it");
        await live.CaseAsync(merged.AreaId, Api.CaseEndpoints.View(merged, null, now));
        await live.CaseAsync(survivor.AreaId, Api.CaseEndpoints.View(survivor, null, now));
        return CaseCommandResult.Done(survivor) with { Other = merged };
    }

    /// <summary>One change of one case: load, apply the aggregate, commit with history, notices, messages and audit.</summary>
    private async Task<CaseCommandResult> ChangeAsync(long id, int? version, IReadOnlyCollection<string>? areas, string actor,
        Func<CivicLensDb, CaseRecord, Case, DateTimeOffset, Task<CaseChangeSet?>> change, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var db = await dbs.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var record = await Scoped(db, areas).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (record is null) return CaseCommandResult.NotFound("case");
        var c = ToDomain(record);
        CaseChangeSet? set;
        try
        {
            if (version is { } v) c.ExpectVersion(v);
            set = await change(db, record, c, now);
        }
        catch (CaseRuleException ex)
        {
            return CaseCommandResult.Conflict(ex.Message);
        }
        catch (ArgumentException ex)
        {
            return CaseCommandResult.BadRequest(ex.Message);
        }

        if (set is null) return CaseCommandResult.Unchanged(record);
        Apply(c, record);
        if (!await CommitAsync(db, tx, [(record, set)], actor, now, ct)) return CaseCommandResult.Conflict("the case changed meanwhile; reload it");
        await live.CaseAsync(record.AreaId, Api.CaseEndpoints.View(record, await AssigneeAsync(db, record, ct), now));
        return CaseCommandResult.Done(record);
    }

    /// <summary>
    /// Writes the changes with their history, notices and reporter messages, then the audit record of the first
    /// (the command's own), and commits; false when another writer changed a case first (all rolled back).
    /// </summary>
    private async Task<bool> CommitAsync(CivicLensDb db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction tx, IReadOnlyList<(CaseRecord Record, CaseChangeSet Set)> changes,
        string actor, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var (record, set) in changes)
        {
            foreach (var line in set.History)
            {
                db.CaseChanges.Add(new CaseChange { CaseId = record.Id, At = line.At.ToUnixTimeMilliseconds(), Actor = line.Actor, Change = line.Text });
            }

            foreach (var notice in set.Notices) desk.Notify(db, record, notice.Kind, now, notice.Reason, notice.Department);
        }

        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }

        foreach (var (record, set) in changes.Where(x => x.Set.TellReporters)) await desk.TellReportersAsync(db, record, now, ct);
        var first = changes[0];
        // Last before the commit: on PostgreSQL the chain's lock is held from here to the commit only.
        var audited = await audit.AppendInAsync(db, new AuditEntry(actor, first.Set.AuditAction, "ok", "case:" + first.Record.Id, first.Set.AuditDetail), ct);
        await tx.CommitAsync(ct);
        audit.Anchor(audited);
        return true;
    }

    private static IQueryable<CaseRecord> Scoped(CivicLensDb db, IReadOnlyCollection<string>? areas) =>
        areas is null ? db.Cases : db.Cases.Where(c => areas.Contains(c.AreaId));

    private static async Task<string?> AssigneeAsync(CivicLensDb db, CaseRecord c, CancellationToken ct) =>
        c.AssigneeId is { } a ? await db.Users.AsNoTracking().Where(u => u.Id == a).Select(u => u.UserName).FirstOrDefaultAsync(ct) : null;

    /// <summary>The aggregate of a stored case.</summary>
    public static Case ToDomain(CaseRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Case.Restore(r.Id, r.Category, r.DepartmentId, CaseStateNames.Parse(r.State), r.Version, At(r.OpenedAt), At(r.AcknowledgeDueAt), At(r.DueAt),
            At(r.AcknowledgedAt), At(r.FixedAt), At(r.ClosedAt), r.EscalatedFor, At(r.EscalatedAt),
            r.Verification switch
            {
                CaseVerifier.Awaiting => CaseVerification.AwaitingCamera,
                CaseVerifier.Confirmed => CaseVerification.Confirmed,
                _ => CaseVerification.None,
            },
            r.VerifyCameraId is { } camera && r.VerifyZone is { } zone ? new CameraWatch(camera, zone) : null, r.MergedInto, r.AssigneeId);
    }

    /// <summary>Writes the aggregate's fields back to its record.</summary>
    public static void Apply(Case c, CaseRecord r)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(r);
        r.State = c.State.Name();
        r.Version = c.Version;
        r.AcknowledgedAt = c.AcknowledgedAt?.ToUnixTimeMilliseconds();
        r.FixedAt = c.FixedAt?.ToUnixTimeMilliseconds();
        r.ClosedAt = c.ClosedAt?.ToUnixTimeMilliseconds();
        r.EscalatedFor = c.EscalatedFor;
        r.EscalatedAt = c.EscalatedAt?.ToUnixTimeMilliseconds();
        r.Verification = c.Verification switch
        {
            CaseVerification.AwaitingCamera => CaseVerifier.Awaiting,
            CaseVerification.Confirmed => CaseVerifier.Confirmed,
            _ => null,
        };
        r.VerifyCameraId = c.Watch?.Camera;
        r.VerifyZone = c.Watch?.Zone;
        r.MergedInto = c.MergedInto;
        r.AssigneeId = c.AssigneeId;
    }

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? At(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
