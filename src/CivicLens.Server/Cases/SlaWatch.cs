using CivicLens.Reports.Cases;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Cases;

/// <summary>
/// Escalates cases that breach their SLA, once per breach: not acknowledged in time, then not fixed in time.
/// The case stays with its department; the escalation department (or the fallback) is told through its
/// deliveries, the history says so, and the console marks the case.
/// </summary>
public sealed partial class SlaWatch(IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, AuditLog audit, LiveNotifier live, TimeProvider time, ILogger<SlaWatch> logger,
    Hosting.IJobDuty duty)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // In a cluster only the leading hub escalates, so each breach is escalated once.
                if (duty.RunsJobs) await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException or IOException)
            {
                // The store is away for a moment: the next round sees the same breaches (each is escalated once).
                LogFailed(logger, ex.GetType().Name);
            }

            await Task.Delay(Interval, time, stoppingToken).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>One pass: escalates every breach not yet escalated; returns how many.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var ms = now.ToUnixTimeMilliseconds();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var due = await db.Cases
            .Where(c => c.State != CaseStates.Fixed && c.State != CaseStates.Closed
                && ((c.DueAt != null && c.DueAt < ms && (c.EscalatedFor == null || c.EscalatedFor == "acknowledge"))
                    || (c.State == CaseStates.Open && c.AcknowledgeDueAt != null && c.AcknowledgeDueAt < ms && c.EscalatedFor == null)))
            .OrderBy(c => c.OpenedAt).Take(200).ToListAsync(ct);
        var n = 0;
        foreach (var c in due)
        {
            var breach = Sla.Breach(c.State, now, c.AcknowledgeDueAt is { } a ? DateTimeOffset.FromUnixTimeMilliseconds(a) : null,
                c.DueAt is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null);
            if (breach is null || breach == c.EscalatedFor) continue;
            var to = desk.Router.EscalationOf(c.DepartmentId);
            c.EscalatedFor = breach;
            c.EscalatedAt = ms;
            c.Version++;
            var what = breach == "fix" ? "not fixed by its due time" : "not acknowledged in time";
            db.CaseChanges.Add(new CaseChange { CaseId = c.Id, At = ms, Actor = "system", Change = $"SLA breached: {what}; escalated to {to ?? "nobody (no escalation configured)"}" });
            desk.Notify(db, c, "case.escalated", now, $"{what} by {c.DepartmentId}", to ?? c.DepartmentId);
            n++;
        }

        if (n == 0) return 0;
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return 0;
        }

        foreach (var c in due.Where(c => c.EscalatedAt == ms))
        {
            await audit.AppendAsync(new AuditEntry("system", "case.escalate", "ok", "case:" + c.Id, c.EscalatedFor), CancellationToken.None);
            await live.CaseAsync(c.AreaId, Api.CaseEndpoints.View(c, null, now));
        }

        return n;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLA check skipped a round: the store failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string error);
}
