using CivicLens.Privacy.Retention;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Holds;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Retention;

/// <summary>
/// Enforces retention while the server runs (hourly, and once at start), one rule per kind of data (docs/privacy.md):
/// each camera's redacted snapshots after the camera's retention; events after <see cref="ServerOptions.EventRetention"/>
/// unless a case still kept holds them; closed cases after <see cref="ServerOptions.ClosedCaseRetention"/>, with all
/// that hangs on them (events, their evidence rows, reports and photo files, history, duplicate suggestions); reports
/// and reporters' contacts, and audit records, after their <see cref="RetentionSettings"/>. Legal holds in the store
/// (<see cref="LegalHoldService"/>) are the only override. Every purge leaves an audit record with its counts.
/// </summary>
public sealed partial class RetentionService(ServerOptions options, IDbContextFactory<CivicLensDb> dbs, AuditLog audit, TimeProvider time,
    ILogger<RetentionService> logger, Hosting.IJobDuty duty, LegalHoldService holds, SealedOriginalStore? sealedOriginals = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    private const int Batch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // In a cluster only the leading hub purges (the database's rows; evidence files on each hub's disk: see docs/cluster.md).
                if (duty.RunsJobs) await PurgeAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or InvalidOperationException or System.Data.Common.DbException)
            {
                // Nothing is deleted on a doubtful state (an unreadable hold list, a store that is gone); next hour tries again.
                LogPurgeFailed(logger, ex);
            }

            try
            {
                await Task.Delay(Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // One pass at a time: the pass at start and one asked for meanwhile would otherwise split (and misreport) a purge.
    private readonly SemaphoreSlim _pass = new(1, 1);

    /// <summary>One pass (waiting for one under way to finish); returns what it removed.</summary>
    public async Task<RetentionPass> PurgeAsync(CancellationToken ct)
    {
        await _pass.WaitAsync(ct);
        try
        {
            return await PurgeOnceAsync(ct);
        }
        finally
        {
            _pass.Release();
        }
    }

    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    private async Task<RetentionPass> PurgeOnceAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var settings = options.Retention;
        // A hand-written hold file from before holds lived in the store is taken in first, so nothing it names is lost.
        await holds.ImportFileAsync(options.SnapshotDirectory, ct);
        await using var db = await dbs.CreateDbContextAsync(ct);
        var held = await LegalHoldService.HeldAsync(db, now, ct);

        // Sealed originals live for hours, not days (a held event's stays).
        sealedOriginals?.Purge(held.Events.Contains);
        var snapshots = 0;
        // Other cameras' views of held events, by name: one view file serves several events but is named after the first.
        var heldViews = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in held.Events.Chunk(500))
        {
            heldViews.UnionWith(await db.EventEvidence.Where(x => chunk.Contains(x.EventId)).Select(x => x.Snapshot).ToListAsync(ct));
        }

        foreach (var camera in await db.Cameras.AsNoTracking().Where(c => c.RetentionDays > 0).Select(c => new { c.Id, c.RetentionDays }).ToListAsync(ct))
        {
            var spans = held.CameraSpans.Where(s => s.Camera == camera.Id)
                .Select(s => (DateTimeOffset.FromUnixTimeMilliseconds(s.From), DateTimeOffset.FromUnixTimeMilliseconds(s.To))).ToList();
            var result = new EvidenceRetention(options.SnapshotDirectory, TimeSpan.FromDays(camera.RetentionDays), time)
            {
                FilePrefix = camera.Id + "-",
                HeldEvents = held.Events,
                HeldFiles = heldViews,
                HeldSpans = spans,
            }.Purge();
            snapshots += result.Deleted;
        }

        // Closed cases past their retention go with everything that hangs on them (a held case, event or report keeps its case).
        var closedBefore = (now - options.ClosedCaseRetention).ToUnixTimeMilliseconds();
        var heldCases = held.Cases.ToList();
        var oldCases = await db.Cases.Where(c => c.State == "closed" && c.ClosedAt < closedBefore && !heldCases.Contains(c.Id)).Select(c => c.Id).ToListAsync(ct);
        var casesDeleted = 0;
        var eventsDeleted = 0;
        var reportsDeleted = 0;
        foreach (var chunk in oldCases.Chunk(Batch))
        {
            await db.EventEvidence.Where(x => db.Events.Any(e => e.Id == x.EventId && e.CaseId != null && chunk.Contains(e.CaseId.Value))).ExecuteDeleteAsync(ct);
            eventsDeleted += await db.Events.Where(e => e.CaseId != null && chunk.Contains(e.CaseId.Value)).ExecuteDeleteAsync(ct);
            reportsDeleted += await DeleteReportsAsync(db, db.Reports.Where(r => r.CaseId != null && chunk.Contains(r.CaseId.Value)), ct);
            await db.CaseSuggestions.Where(x => chunk.Contains(x.CaseId) || chunk.Contains(x.TargetCaseId)).ExecuteDeleteAsync(ct);
            await db.CaseChanges.Where(h => chunk.Contains(h.CaseId)).ExecuteDeleteAsync(ct);
            casesDeleted += await db.Cases.Where(c => chunk.Contains(c.Id)).ExecuteDeleteAsync(ct);
        }

        // Events on their own, past the event retention, unless held; their other cameras' views go with them.
        var before = (now - options.EventRetention).ToUnixTimeMilliseconds();
        while (true)
        {
            var found = await db.Events.Where(e => e.At < before && e.CaseId == null).OrderBy(e => e.At).Select(e => e.Id).Take(2000).ToListAsync(ct);
            var batch = found.Where(id => !held.Events.Contains(id)).ToList();
            if (batch.Count > 0)
            {
                await db.EventEvidence.Where(x => batch.Contains(x.EventId)).ExecuteDeleteAsync(ct);
                eventsDeleted += await db.Events.Where(e => batch.Contains(e.Id)).ExecuteDeleteAsync(ct);
            }

            // Only held events left in the oldest 2000 (or fewer than a batch): the rest are younger or held.
            if (batch.Count == 0 || found.Count < 2000) break;
        }

        // Views whose event never arrived (refused, or lost with its node) go at the event retention too.
        await db.EventEvidence.Where(x => x.At < before && !db.Events.Any(e => e.Id == x.EventId)).ExecuteDeleteAsync(ct);

        // Reports, with their photos: a while after their case closed, or after submission when they never had one.
        var heldReports = held.Reports.ToList();
        var reportsAfter = (now - settings.ReportsAfterCaseClosed).ToUnixTimeMilliseconds();
        var unlinkedBefore = (now - settings.ReportsWithoutCase).ToUnixTimeMilliseconds();
        reportsDeleted += await DeleteReportsAsync(db, db.Reports.Where(r => !heldReports.Contains(r.Id) && (r.CaseId == null
            ? r.SubmittedAt < unlinkedBefore
            : db.Cases.Any(c => c.Id == r.CaseId && c.State == "closed" && c.ClosedAt < reportsAfter))), ct);

        // Reporters' contacts: gone when the case closes (once the one promised message went out, or its grace ran
        // out), or a while after a report that never had a case. The report stays, without them.
        var nowMs = now.ToUnixTimeMilliseconds();
        var noticeBefore = (now - settings.ContactNoticeGrace).ToUnixTimeMilliseconds();
        var contactsBefore = (now - settings.ContactsWithoutCase).ToUnixTimeMilliseconds();
        var contacts = await db.Reports.Where(r => (r.ContactSealed != null || r.NotifyReporter) && !heldReports.Contains(r.Id) && (r.CaseId == null
                ? r.SubmittedAt < contactsBefore
                : db.Cases.Any(c => c.Id == r.CaseId && c.State == "closed" && (!r.NotifyReporter || r.ReporterNotifiedAt != null || c.ClosedAt < noticeBefore))))
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.ContactSealed, (string?)null).SetProperty(r => r.NotifyReporter, false).SetProperty(r => r.ContactDeletedAt, nowMs), ct);

        // Camera health history: operational data about devices, kept as long as the city's operations need it.
        var healthBefore = (now - options.HealthHistoryRetention).ToUnixTimeMilliseconds();
        await db.CameraHealthChanges.Where(h => h.At < healthBefore).ExecuteDeleteAsync(ct);

        // The audit log is kept longest; its oldest records are cut with an anchor so the rest still verifies.
        var trim = await audit.TrimAsync(now - settings.AuditRecords, ct);

        var pass = new RetentionPass(snapshots, eventsDeleted, casesDeleted)
        {
            Reports = reportsDeleted,
            Contacts = contacts,
            AuditRecords = trim?.Records ?? 0,
        };
        if (pass.Total > 0)
        {
            await audit.AppendAsync(new AuditEntry("system", "retention.purge", "ok", null,
                $"{snapshots} snapshots, {eventsDeleted} events, {casesDeleted} closed cases, {reportsDeleted} reports, {contacts} contacts, "
                + $"{pass.AuditRecords} audit records" + (trim is null ? "" : $" (up to record {trim.UpToSeq})")), ct);
        }

        return pass;
    }

    /// <summary>Deletes reports with their photos: files first (a report whose row outlived a photo is harmless; a photo that outlived its row is not).</summary>
    private async Task<int> DeleteReportsAsync(CivicLensDb db, IQueryable<ReportRecord> which, CancellationToken ct)
    {
        var deleted = 0;
        while (true)
        {
            var ids = await which.OrderBy(r => r.Id).Select(r => r.Id).Take(Batch).ToListAsync(ct);
            if (ids.Count == 0) return deleted;
            foreach (var file in await db.ReportPhotos.Where(p => ids.Contains(p.ReportId)).Select(p => p.FileName).ToListAsync(ct))
            {
                // Stored names are bare file names written by the server; never let one reach outside the folder.
                File.Delete(Path.Combine(options.ReportPhotoDirectory, Path.GetFileName(file)));
            }

            await db.ReportPhotos.Where(p => ids.Contains(p.ReportId)).ExecuteDeleteAsync(ct);
            deleted += await db.Reports.Where(r => ids.Contains(r.Id)).ExecuteDeleteAsync(ct);
            if (ids.Count < Batch) return deleted;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention pass failed; nothing more was deleted")]
    private static partial void LogPurgeFailed(ILogger logger, Exception ex);
}

public sealed record RetentionPass(int Snapshots, int Events, int Cases)
{
    public int Reports { get; init; }

    /// <summary>Reporters' contacts deleted (their reports stay).</summary>
    public int Contacts { get; init; }

    public long AuditRecords { get; init; }

    public long Total => Snapshots + Events + Cases + Reports + Contacts + AuditRecords;
}
