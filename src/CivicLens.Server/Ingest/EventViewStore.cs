using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Ingest;

/// <summary>
/// Stores other cameras' views of events (<c>event_evidence</c>), idempotently: a view sent again (a replayed
/// journal, a node's batch delivered twice) is one row, by (event, camera, file). A view whose event is not stored
/// (it comes later from another node, or it was never accepted) is stored all the same, keyed by the event's id:
/// nothing is served for it until the event exists. Rows go with their event (RetentionService); one whose event never
/// came has nothing to go with and is for retention to remove by its age.
/// </summary>
public static class EventViewStore
{
    /// <summary>Stores <paramref name="views"/>, their times moved by <paramref name="clockOffsetMs"/> (a node's skew); returns how many were new.</summary>
    public static async Task<int> AddAsync(IDbContextFactory<CivicLensDb> dbs, IReadOnlyList<JournalView> views, long clockOffsetMs, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dbs);
        ArgumentNullException.ThrowIfNull(views);
        if (views.Count == 0) return 0;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var sqlite = db.Database.IsSqlite();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var added = 0;
        foreach (var v in views)
        {
            // The name is served from the snapshot folder later: only a bare file name is kept, never a path.
            if (!IsPlainName(v.Snapshot) || v.Camera.Length == 0) continue;
            object eventId = sqlite ? v.Event.ToString("D") : v.Event;
            var at = v.At.ToUnixTimeMilliseconds() + clockOffsetMs;
            added += await db.Database.ExecuteSqlAsync(
                $"INSERT INTO event_evidence (event_id, camera_id, snapshot, at) VALUES ({eventId}, {v.Camera}, {v.Snapshot}, {at}) ON CONFLICT (event_id, camera_id, snapshot) DO NOTHING",
                ct);
        }

        await tx.CommitAsync(ct);
        return added;
    }

    /// <summary>A bare JPEG file name as the pipeline writes them (letters, digits, '-', '_', '.'; no leading dot).</summary>
    public static bool IsPlainName(string name) =>
        name is { Length: > 0 and <= 200 } && !name.StartsWith('.') && name.EndsWith(".jpg", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
