using CivicLens.Privacy.Retention;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Retention;

/// <summary>
/// Enforces retention while the server runs (hourly, and once at start): each camera's redacted snapshots after the
/// camera's retention, events after <see cref="ServerOptions.EventRetention"/> unless they belong to a case that is
/// still kept, and closed cases (with their events) after <see cref="ServerOptions.ClosedCaseRetention"/>. A legal
/// hold (case reference, expiry) is the only override. Every purge leaves an audit record with its counts.
/// </summary>
public sealed partial class RetentionService(ServerOptions options, IDbContextFactory<CivicLensDb> dbs, AuditLog audit, TimeProvider time,
    ILogger<RetentionService> logger, Hosting.IJobDuty duty, SealedOriginalStore? sealedOriginals = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

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
            catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Data.Common.DbException)
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

    /// <summary>One pass; returns what it removed.</summary>
    public async Task<RetentionPass> PurgeAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // Sealed originals live for hours, not days: destroyed first, whatever else fails.
        sealedOriginals?.Purge();
        var snapshots = 0;
        var holds = new EvidenceRetention(options.SnapshotDirectory, TimeSpan.FromDays(1), time).Holds();
        var held = holds.Where(h => h.Expires > now).SelectMany(h => h.Events).ToHashSet();
        await using var db = await dbs.CreateDbContextAsync(ct);
        foreach (var camera in await db.Cameras.AsNoTracking().Where(c => c.RetentionDays > 0).Select(c => new { c.Id, c.RetentionDays }).ToListAsync(ct))
        {
            var result = new EvidenceRetention(options.SnapshotDirectory, TimeSpan.FromDays(camera.RetentionDays), time) { FilePrefix = camera.Id + "-" }.Purge();
            snapshots += result.Deleted;
        }

        // Closed cases past their retention go with their events (a held event keeps its case).
        var closedBefore = (now - options.ClosedCaseRetention).ToUnixTimeMilliseconds();
        var oldCases = await db.Cases.Where(c => c.State == "closed" && c.ClosedAt < closedBefore).Select(c => c.Id).ToListAsync(ct);
        var heldCases = held.Count == 0 ? [] : await db.Events.Where(e => e.CaseId != null && held.Contains(e.Id)).Select(e => e.CaseId!.Value).Distinct().ToListAsync(ct);
        oldCases = [.. oldCases.Except(heldCases)];
        var casesDeleted = 0;
        var eventsDeleted = 0;
        foreach (var chunk in oldCases.Chunk(500))
        {
            eventsDeleted += await db.Events.Where(e => e.CaseId != null && chunk.Contains(e.CaseId.Value)).ExecuteDeleteAsync(ct);
            await db.CaseChanges.Where(h => chunk.Contains(h.CaseId)).ExecuteDeleteAsync(ct);
            casesDeleted += await db.Cases.Where(c => chunk.Contains(c.Id)).ExecuteDeleteAsync(ct);
        }

        // Events on their own, past the event retention, unless held.
        var before = (now - options.EventRetention).ToUnixTimeMilliseconds();
        while (true)
        {
            var batch = await db.Events.Where(e => e.At < before && e.CaseId == null).OrderBy(e => e.At).Select(e => e.Id).Take(2000).ToListAsync(ct);
            batch = [.. batch.Where(id => !held.Contains(id))];
            if (batch.Count == 0) break;
            eventsDeleted += await db.Events.Where(e => batch.Contains(e.Id)).ExecuteDeleteAsync(ct);
            if (batch.Count < 1000) break;
        }

        // Camera health history: operational data about devices, kept as long as the city's operations need it.
        var healthBefore = (now - options.HealthHistoryRetention).ToUnixTimeMilliseconds();
        await db.CameraHealthChanges.Where(h => h.At < healthBefore).ExecuteDeleteAsync(ct);

        var pass = new RetentionPass(snapshots, eventsDeleted, casesDeleted);
        if (pass.Total > 0)
        {
            await audit.AppendAsync(new AuditEntry("system", "retention.purge", "ok", null,
                $"{snapshots} snapshots, {eventsDeleted} events, {casesDeleted} closed cases"), ct);
        }

        return pass;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention pass failed; nothing more was deleted")]
    private static partial void LogPurgeFailed(ILogger logger, Exception ex);
}

public sealed record RetentionPass(int Snapshots, int Events, int Cases)
{
    public int Total => Snapshots + Events + Cases;
}
