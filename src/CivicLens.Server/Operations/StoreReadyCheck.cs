using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CivicLens.Server.Operations;

/// <summary>
/// Ready when the store answers and holds every migration this build knows: one read of the migrations history
/// (a small table), which fails when the database is unreachable, and names what is missing when it is behind.
/// </summary>
internal sealed class StoreReadyCheck(IDbContextFactory<CivicLensDb> dbs) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var db = await dbs.CreateDbContextAsync(cancellationToken);
            var pending = await db.Database.GetPendingMigrationsAsync(cancellationToken);
            // The reason stays in the server's log; the endpoint answers only the status word.
            return pending.Any() ? HealthCheckResult.Unhealthy("the store lacks migrations: " + string.Join(", ", pending)) : HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("the store is unreachable", ex);
        }
    }
}
