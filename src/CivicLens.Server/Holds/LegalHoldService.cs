using System.Globalization;
using CivicLens.Privacy.Retention;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Holds;

/// <summary>
/// Legal holds in the store: placed, listed, extended and released by investigators and admins (API, console, CLI),
/// each change audited. Retention reads the live ones (<see cref="HeldAsync"/>) and keeps whatever they name. A hold
/// is never deleted: a released or expired one stays as the record of what was held, by whom and why.
/// </summary>
public sealed class LegalHoldService(IDbContextFactory<CivicLensDb> dbs, AuditLog audit, TimeProvider time)
{
    public const string ImportedSuffix = ".imported";

    /// <summary>In force: not released and not yet expired.</summary>
    public static bool IsActive(LegalHoldRecord hold, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hold);
        return hold.ReleasedAt is null && hold.ExpiresAt > now.ToUnixTimeMilliseconds();
    }

    /// <summary>Holds newest first; ended ones (released or expired) only when asked.</summary>
    public async Task<IReadOnlyList<HoldView>> ListAsync(bool includeEnded, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.LegalHolds.AsNoTracking();
        if (!includeEnded) q = q.Where(h => h.ReleasedAt == null && h.ExpiresAt > nowMs);
        var rows = await q.OrderByDescending(h => h.CreatedAt).ThenByDescending(h => h.Id).Take(1000).ToListAsync(ct);
        return rows.Select(h => HoldView.Of(h, now)).ToList();
    }

    /// <summary>
    /// Places a hold on something that exists (and that <paramref name="areas"/>, the caller's scope, lets them see);
    /// refused with every problem at once otherwise.
    /// </summary>
    public async Task<HoldView> CreateAsync(HoldRequest request, string actor, IReadOnlyList<string>? areas, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var problems = request.Problems(now).ToList();
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (problems.Count == 0 && await TargetAsync(db, request.Scope, request.Target.Trim(), areas, ct) is null)
        {
            problems.Add(new HoldProblem("target", $"names no {request.Scope} that exists"));
        }

        if (problems.Count > 0) throw new HoldRefusedException(problems);
        var hold = new LegalHoldRecord
        {
            Scope = request.Scope,
            Target = Canonical(request.Scope, request.Target.Trim()),
            From = request.From?.ToUnixTimeMilliseconds(),
            To = request.To?.ToUnixTimeMilliseconds(),
            CaseReference = request.CaseReference.Trim(),
            Reason = request.Reason.Trim(),
            CreatedBy = actor,
            CreatedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = request.ExpiresAt.ToUnixTimeMilliseconds(),
        };
        db.LegalHolds.Add(hold);
        await SaveAuditedAsync(db, actor, "hold.create", hold, () => $"{hold.Scope} {hold.Target}{Span(hold)}, {hold.CaseReference}, until {Iso(hold.ExpiresAt)}: {hold.Reason}", ct);
        return HoldView.Of(hold, now);
    }

    /// <summary>Moves a live hold's expiry later; null when there is no such hold.</summary>
    public async Task<HoldView?> ExtendAsync(long id, HoldExtension extension, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(extension);
        var now = time.GetUtcNow();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var hold = await db.LegalHolds.FirstOrDefaultAsync(h => h.Id == id, ct);
        if (hold is null) return null;
        var problems = new List<HoldProblem>();
        if (hold.ReleasedAt is not null) problems.Add(new("id", "names a released hold (place a new one)"));
        if (string.IsNullOrWhiteSpace(extension.Reason)) problems.Add(new("reason", "is required"));
        if (extension.ExpiresAt <= now) problems.Add(new("expiresAt", "is in the future"));
        else if (extension.ExpiresAt.ToUnixTimeMilliseconds() <= hold.ExpiresAt) problems.Add(new("expiresAt", $"is later than the hold's present expiry ({Iso(hold.ExpiresAt)})"));
        if (problems.Count > 0) throw new HoldRefusedException(problems);
        var before = hold.ExpiresAt;
        hold.ExpiresAt = extension.ExpiresAt.ToUnixTimeMilliseconds();
        await SaveAuditedAsync(db, actor, "hold.extend", hold, () => $"{hold.CaseReference}: {Iso(before)} -> {Iso(hold.ExpiresAt)}: {extension.Reason.Trim()}", ct);
        return HoldView.Of(hold, now);
    }

    /// <summary>Ends a hold before its expiry (with the reason); what it kept is then under its retention again. Null: no such hold.</summary>
    public async Task<HoldView?> ReleaseAsync(long id, HoldRelease release, string actor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(release);
        var now = time.GetUtcNow();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var hold = await db.LegalHolds.FirstOrDefaultAsync(h => h.Id == id, ct);
        if (hold is null) return null;
        var problems = new List<HoldProblem>();
        if (hold.ReleasedAt is not null) problems.Add(new("id", "names a hold already released"));
        if (string.IsNullOrWhiteSpace(release.Reason)) problems.Add(new("reason", "is required"));
        else if (release.Reason.Length > HoldRequest.MaxText) problems.Add(new("reason", $"is at most {HoldRequest.MaxText} characters"));
        if (problems.Count > 0) throw new HoldRefusedException(problems);
        hold.ReleasedAt = now.ToUnixTimeMilliseconds();
        hold.ReleasedBy = actor;
        hold.ReleaseReason = release.Reason.Trim();
        await SaveAuditedAsync(db, actor, "hold.release", hold, () => $"{hold.CaseReference}: {hold.ReleaseReason}", ct);
        return HoldView.Of(hold, now);
    }

    /// <summary>
    /// Brings the holds of a hand-written <c>legal-holds.json</c> (the format before holds lived in the store) in, one
    /// event hold per event, then renames the file to <c>.imported</c> so it is read once. Returns how many; an
    /// unreadable file throws, so nothing is purged on a doubtful hold list.
    /// </summary>
    public async Task<int> ImportFileAsync(string snapshotDirectory, CancellationToken ct)
    {
        var path = Path.Combine(snapshotDirectory, EvidenceRetention.HoldsFile);
        if (!File.Exists(path)) return 0;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var file = new EvidenceRetention(snapshotDirectory, TimeSpan.FromDays(1), time).Holds();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var count = 0;
        foreach (var hold in file)
        {
            foreach (var e in hold.Events.Distinct())
            {
                db.LegalHolds.Add(new LegalHoldRecord
                {
                    Scope = HoldScopes.Event,
                    Target = e.ToString("D"),
                    CaseReference = string.IsNullOrWhiteSpace(hold.CaseReference) ? "(none given)" : hold.CaseReference.Trim(),
                    Reason = $"imported from {EvidenceRetention.HoldsFile}",
                    CreatedBy = "system",
                    CreatedAt = now,
                    ExpiresAt = hold.Expires.ToUnixTimeMilliseconds(),
                });
                count++;
            }
        }

        await db.SaveChangesAsync(ct);
        var imported = path + ImportedSuffix;
        if (File.Exists(imported)) imported = path + "." + now.ToString(CultureInfo.InvariantCulture) + ImportedSuffix;
        File.Move(path, imported);
        await audit.AppendAsync(new AuditEntry("system", "hold.import", "ok", EvidenceRetention.HoldsFile, $"{count} event holds from {file.Count} file entries"), ct);
        return count;
    }

    /// <summary>
    /// Everything live holds keep, resolved to ids: a held event or report keeps its case, a held case keeps its
    /// events and reports, a camera's span keeps that camera's events (and evidence files) in it.
    /// </summary>
    public static async Task<HeldSet> HeldAsync(CivicLensDb db, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var nowMs = now.ToUnixTimeMilliseconds();
        var held = new HeldSet();
        var holds = await db.LegalHolds.AsNoTracking().Where(h => h.ReleasedAt == null && h.ExpiresAt > nowMs).ToListAsync(ct);
        foreach (var h in holds)
        {
            switch (h.Scope)
            {
                case HoldScopes.Case when long.TryParse(h.Target, NumberStyles.None, CultureInfo.InvariantCulture, out var c):
                    held.Cases.Add(c);
                    break;
                case HoldScopes.Report when long.TryParse(h.Target, NumberStyles.None, CultureInfo.InvariantCulture, out var r):
                    held.Reports.Add(r);
                    break;
                case HoldScopes.Event when Guid.TryParse(h.Target, out var e):
                    held.Events.Add(e);
                    break;
                case HoldScopes.Camera when h.From is { } from && h.To is { } to:
                    held.CameraSpans.Add(new HeldSpan(h.Target, from, to));
                    var camera = h.Target;
                    held.Events.UnionWith(await db.Events.AsNoTracking().Where(x => x.CameraId == camera && x.At >= from && x.At <= to).Select(x => x.Id).ToListAsync(ct));
                    break;
                default:
                    // A hold whose target cannot be read holds nothing it could name; it was validated when placed.
                    break;
            }
        }

        if (held.IsEmpty) return held;
        foreach (var chunk in held.Events.Chunk(500))
        {
            held.Cases.UnionWith(await db.Events.AsNoTracking().Where(x => chunk.Contains(x.Id) && x.CaseId != null).Select(x => x.CaseId!.Value).ToListAsync(ct));
        }

        var reports = held.Reports.ToList();
        held.Cases.UnionWith(await db.Reports.AsNoTracking().Where(x => reports.Contains(x.Id) && x.CaseId != null).Select(x => x.CaseId!.Value).ToListAsync(ct));
        var cases = held.Cases.ToList();
        held.Events.UnionWith(await db.Events.AsNoTracking().Where(x => x.CaseId != null && cases.Contains(x.CaseId.Value)).Select(x => x.Id).ToListAsync(ct));
        held.Reports.UnionWith(await db.Reports.AsNoTracking().Where(x => x.CaseId != null && cases.Contains(x.CaseId.Value)).Select(x => x.Id).ToListAsync(ct));
        return held;
    }

    /// <summary>The live holds on a case (itself, or one of its events or reports).</summary>
    public static async Task<IReadOnlyList<HoldBadge>> OnCaseAsync(CivicLensDb db, long caseId, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var id = caseId.ToString(CultureInfo.InvariantCulture);
        var events = await db.Events.AsNoTracking().Where(e => e.CaseId == caseId).Select(e => e.Id).Take(1000).ToListAsync(ct);
        var reports = await db.Reports.AsNoTracking().Where(r => r.CaseId == caseId).Select(r => r.Id).ToListAsync(ct);
        var eventTargets = events.Select(e => e.ToString("D")).ToList();
        var reportTargets = reports.Select(r => r.ToString(CultureInfo.InvariantCulture)).ToList();
        return await BadgesAsync(db, now, h => (h.Scope == HoldScopes.Case && h.Target == id) || (h.Scope == HoldScopes.Event && eventTargets.Contains(h.Target))
            || (h.Scope == HoldScopes.Report && reportTargets.Contains(h.Target)), ct);
    }

    /// <summary>The live holds on an event: itself, its case, or its camera's span around it.</summary>
    public static Task<IReadOnlyList<HoldBadge>> OnEventAsync(CivicLensDb db, EventRecord e, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        var id = e.Id.ToString("D");
        var caseId = e.CaseId?.ToString(CultureInfo.InvariantCulture);
        var (camera, at) = (e.CameraId, e.At);
        return BadgesAsync(db, now, h => (h.Scope == HoldScopes.Event && h.Target == id) || (caseId != null && h.Scope == HoldScopes.Case && h.Target == caseId)
            || (h.Scope == HoldScopes.Camera && h.Target == camera && h.From <= at && h.To >= at), ct);
    }

    /// <summary>The live holds on a report: itself or its case.</summary>
    public static Task<IReadOnlyList<HoldBadge>> OnReportAsync(CivicLensDb db, ReportRecord r, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(r);
        var id = r.Id.ToString(CultureInfo.InvariantCulture);
        var caseId = r.CaseId?.ToString(CultureInfo.InvariantCulture);
        return BadgesAsync(db, now, h => (h.Scope == HoldScopes.Report && h.Target == id) || (caseId != null && h.Scope == HoldScopes.Case && h.Target == caseId), ct);
    }

    private static async Task<IReadOnlyList<HoldBadge>> BadgesAsync(CivicLensDb db, DateTimeOffset now, System.Linq.Expressions.Expression<Func<LegalHoldRecord, bool>> which,
        CancellationToken ct)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var rows = await db.LegalHolds.AsNoTracking().Where(h => h.ReleasedAt == null && h.ExpiresAt > nowMs).Where(which).OrderBy(h => h.Id).ToListAsync(ct);
        return rows.Select(h => new HoldBadge(h.Id, h.Scope, h.CaseReference, DateTimeOffset.FromUnixTimeMilliseconds(h.ExpiresAt))).ToList();
    }

    /// <summary>The target's area when it exists (and is in <paramref name="areas"/>, when given); null otherwise.</summary>
    private static async Task<string?> TargetAsync(CivicLensDb db, string scope, string target, IReadOnlyList<string>? areas, CancellationToken ct)
    {
        var area = scope switch
        {
            HoldScopes.Case when long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var c) =>
                await db.Cases.AsNoTracking().Where(x => x.Id == c).Select(x => x.AreaId).FirstOrDefaultAsync(ct),
            HoldScopes.Report when long.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var r) =>
                await db.Reports.AsNoTracking().Where(x => x.Id == r).Select(x => x.AreaId).FirstOrDefaultAsync(ct),
            HoldScopes.Event when Guid.TryParse(target, out var e) =>
                await db.Events.AsNoTracking().Where(x => x.Id == e).Select(x => x.AreaId).FirstOrDefaultAsync(ct),
            HoldScopes.Camera => await db.Cameras.AsNoTracking().Where(x => x.Id == target).Select(x => x.AreaId).FirstOrDefaultAsync(ct),
            _ => null,
        };
        // Out of the caller's scope looks the same as absent.
        return area is not null && (areas is null || areas.Contains(area)) ? area : null;
    }

    private static string Canonical(string scope, string target) => scope == HoldScopes.Event && Guid.TryParse(target, out var g) ? g.ToString("D") : target;

    private static string Span(LegalHoldRecord h) => h.From is { } f && h.To is { } t ? $" {Iso(f)}..{Iso(t)}" : "";

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Saves a hold's change and its audit record in one transaction: no hold is placed, moved or released without
    /// its record. The detail is built after the save, when a new hold has the id that names it.
    /// </summary>
    private async Task SaveAuditedAsync(CivicLensDb db, string actor, string action, LegalHoldRecord hold, Func<string> detail, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.SaveChangesAsync(ct);
        var record = await audit.AppendInAsync(db, new AuditEntry(actor, action, "ok", "hold:" + hold.Id.ToString(CultureInfo.InvariantCulture), detail()), ct);
        await tx.CommitAsync(ct);
        audit.Anchor(record);
    }
}

/// <summary>One camera's held span (Unix ms, inclusive).</summary>
public sealed record HeldSpan(string Camera, long From, long To);

/// <summary>What live legal holds keep, resolved to ids (see <see cref="LegalHoldService.HeldAsync"/>).</summary>
public sealed class HeldSet
{
    public HashSet<long> Cases { get; } = [];

    public HashSet<long> Reports { get; } = [];

    public HashSet<Guid> Events { get; } = [];

    public List<HeldSpan> CameraSpans { get; } = [];

    public bool IsEmpty => Cases.Count == 0 && Reports.Count == 0 && Events.Count == 0 && CameraSpans.Count == 0;
}
