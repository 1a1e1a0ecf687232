using CivicLens.Reports.Cases;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Cases;

/// <summary>
/// Escalates cases that breach their SLA, once per breach: not acknowledged in time, then not fixed in time.
/// The case stays with its department; the escalation department (or the fallback) is told through its
/// deliveries, the history says so, and the console marks the case.
/// </summary>
public sealed partial class SlaWatch(IDbContextFactory<CivicLensDb> dbs, CaseService cases, TimeProvider time, ILogger<SlaWatch> logger, Hosting.IJobDuty duty)
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

    /// <summary>
    /// One pass: escalates every breach not yet escalated, each case in its own transaction with its history,
    /// notice and audit record (the aggregate decides; a case changed meanwhile is left to the next pass); returns how many.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var ms = time.GetUtcNow().ToUnixTimeMilliseconds();
        List<long> due;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            due = await db.Cases.AsNoTracking()
                .Where(c => c.State != CaseStates.Fixed && c.State != CaseStates.Closed
                    && ((c.DueAt != null && c.DueAt < ms && (c.EscalatedFor == null || c.EscalatedFor == "acknowledge"))
                        || (c.State == CaseStates.Open && c.AcknowledgeDueAt != null && c.AcknowledgeDueAt < ms && c.EscalatedFor == null)))
                .OrderBy(c => c.OpenedAt).Take(200).Select(c => c.Id).ToListAsync(ct);
        }

        var n = 0;
        foreach (var id in due)
        {
            if ((await cases.EscalateAsync(id, ct)) is { Succeeded: true, Status: StatusCodes.Status200OK }) n++;
        }

        return n;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLA check skipped a round: the store failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string error);
}
