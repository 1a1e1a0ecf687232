using Microsoft.EntityFrameworkCore;

namespace CivicLens.Storage;

/// <summary>
/// Upkeep of the cameras-per-area-and-state counts the database's triggers keep (see <c>CameraStateCount</c>). On
/// SQLite the triggers update the counts directly and there is nothing to do; on PostgreSQL they append deltas, which
/// <see cref="FoldAsync"/> moves into the counts.
/// </summary>
public static class CameraStateTotals
{
    /// <summary>Moves the deltas committed so far into the counts, in one statement (safe with several servers folding at once).</summary>
    public static async Task<int> FoldAsync(CivicLensDb db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.IsSqlite()) return 0;
        return await db.Database.ExecuteSqlRawAsync("""
            WITH moved AS (DELETE FROM camera_state_deltas RETURNING area_id, state, cameras)
            INSERT INTO camera_state_counts (area_id, state, cameras)
            SELECT area_id, state, SUM(cameras) FROM moved GROUP BY area_id, state
            ON CONFLICT (area_id, state) DO UPDATE SET cameras = camera_state_counts.cameras + EXCLUDED.cameras
            """, ct);
    }

    /// <summary>
    /// Counts the registry afresh inside the caller's transaction (after a bulk import that told the triggers to stand
    /// aside). Writers of cameras wait for the commit, so no change is counted twice or lost.
    /// </summary>
    public static async Task RecountAsync(CivicLensDb db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (db.Database.IsSqlite()) return;
        await db.Database.ExecuteSqlRawAsync("LOCK TABLE camera_state_deltas IN EXCLUSIVE MODE", ct);
        await db.Database.ExecuteSqlRawAsync("DELETE FROM camera_state_deltas", ct);
        await db.Database.ExecuteSqlRawAsync("DELETE FROM camera_state_counts", ct);
        await db.Database.ExecuteSqlRawAsync("INSERT INTO camera_state_counts (area_id, state, cameras) SELECT area_id, health, COUNT(*) FROM cameras GROUP BY area_id, health", ct);
    }

    /// <summary>Tells this transaction's writes to leave the counts alone (PostgreSQL); the caller recounts before it commits.</summary>
    public static async Task DeferAsync(CivicLensDb db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (!db.Database.IsSqlite()) await db.Database.ExecuteSqlRawAsync("SET LOCAL civiclens.recount_at_end = 'on'", ct);
    }
}
