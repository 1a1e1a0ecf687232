using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Cluster.Node;

/// <summary>The district (areas, sites, signals, time zone) a node checks its cameras' rules against, read from the hub's store.</summary>
public static class NodeDistrict
{
    public static async Task<CivicLensConfig> ReadAsync(string connectionString, CancellationToken ct)
    {
        await using var db = Open(connectionString);
        return await DistrictSync.FromStoreAsync(db, ct);
    }

    private static CivicLensDb Open(string connectionString) =>
        new(StorageSetup.Options(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }));

    /// <summary>Waits until a hub has set the district up (a node may start first); says so once.</summary>
    public static async Task<CivicLensConfig> WaitAsync(string connectionString, TextWriter log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(log);
        var said = false;
        while (true)
        {
            try
            {
                await using var db = Open(connectionString);
                if (await db.Areas.AnyAsync(ct)) return await DistrictSync.FromStoreAsync(db, ct);
            }
            catch (Exception ex) when (ex is Npgsql.PostgresException or InvalidOperationException or DbUpdateException)
            {
                // No tables yet: no hub has migrated this database.
            }

            if (!said)
            {
                await log.WriteLineAsync("Waiting for a hub to set up the district in this database (civiclens serve --cluster)...");
                said = true;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), ct);
        }
    }
}
