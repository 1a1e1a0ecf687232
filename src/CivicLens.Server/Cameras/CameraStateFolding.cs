using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Cameras;

/// <summary>Folds the camera-state deltas PostgreSQL's triggers append into the counts every few seconds (nothing to do on SQLite).</summary>
public sealed partial class CameraStateFolding(IDbContextFactory<CivicLensDb> dbs, TimeProvider time, ILogger<CameraStateFolding> logger) : BackgroundService
{
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using (var probe = await dbs.CreateDbContextAsync(stoppingToken))
        {
            if (probe.Database.IsSqlite()) return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
                await using var db = await dbs.CreateDbContextAsync(stoppingToken);
                await CameraStateTotals.FoldAsync(db, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Counts stay right meanwhile (a count adds the deltas not yet folded); the next pass folds them.
                LogFoldFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Camera state counts not folded this time: {Error}")]
    private static partial void LogFoldFailed(ILogger logger, string error);
}
