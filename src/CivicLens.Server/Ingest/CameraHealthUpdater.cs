using CivicLens.Server.Api;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Ingest;

/// <summary>
/// Keeps the registry's camera health in step with the pipelines' <c>camera.offline</c> / <c>camera.online</c>
/// events (online also when a camera produces anything else), and tells the live feed when it changes.
/// </summary>
public sealed class CameraHealthUpdater(IDbContextFactory<CivicLensDb> dbs, LiveNotifier live)
{
    public async Task ApplyAsync(IReadOnlyList<EventRecord> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        // The newest word per camera wins.
        var latest = new Dictionary<string, (string Health, long At)>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var health = e.Kind == "camera.offline" ? "offline" : "online";
            if (!latest.TryGetValue(e.CameraId, out var seen) || e.At >= seen.At) latest[e.CameraId] = (health, e.At);
        }

        if (latest.Count == 0) return;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var ids = latest.Keys.ToList();
        var changed = new List<Camera>();
        foreach (var camera in await db.Cameras.Where(c => ids.Contains(c.Id)).ToListAsync(ct))
        {
            var (health, at) = latest[camera.Id];
            if (camera.Health == health) continue;
            camera.Health = health;
            camera.HealthSince = at;
            changed.Add(camera);
        }

        if (changed.Count == 0) return;
        await db.SaveChangesAsync(ct);
        foreach (var c in changed) await live.CameraAsync(c.AreaId, CameraView.From(c));
    }
}
