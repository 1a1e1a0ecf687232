using System.Text.Json;
using System.Text.Json.Nodes;
using CivicLens.Domain.Geometry;
using CivicLens.Pipeline;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>
/// One edited zone or line of a camera. <see cref="Geometry"/> is its JSON (<c>{"polygon":[[x,y],...],"site":...}</c>
/// or <c>{"from":[x,y],"to":[x,y],"inPoint":[x,y],"site":...}</c>), null when it was removed. <see cref="Version"/>
/// starts at 1 with the first edit (an unedited zone from the file is version 0) and guards concurrent edits.
/// </summary>
public sealed record StoredGeometry(string CameraId, string Kind, string ItemId, string? Geometry, int Version, long UpdatedAt, string UpdatedBy);

/// <summary>Where geometry edits are kept. Saving compares versions: a stale editor gets null (a conflict), never a lost update.</summary>
public interface ICameraGeometryStore
{
    Task<IReadOnlyList<StoredGeometry>> ListAsync(string? cameraId, CancellationToken ct);

    /// <summary>Stores <paramref name="geometry"/> if the item's stored version (0 when never edited) is <paramref name="expectedVersion"/>; null otherwise.</summary>
    Task<StoredGeometry?> SaveAsync(string cameraId, string kind, string itemId, string? geometry, int expectedVersion, string user, CancellationToken ct);
}

/// <summary>
/// Geometry edits in the store's <c>camera_geometry</c> table (one row per edited zone or line, removed ones with the
/// JSON <c>null</c>). The version column is a concurrency token, so two editors saving at once cannot both win.
/// </summary>
public sealed class DbCameraGeometryStore(IDbContextFactory<CivicLensDb> dbs, TimeProvider time) : ICameraGeometryStore
{
    private const string Removed = "null";

    public async Task<IReadOnlyList<StoredGeometry>> ListAsync(string? cameraId, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.CameraGeometries.AsNoTracking();
        if (cameraId is not null) q = q.Where(g => g.CameraId == cameraId);
        var rows = await q.OrderBy(g => g.CameraId).ThenBy(g => g.Kind).ThenBy(g => g.ItemId).ToListAsync(ct);
        return [.. rows.Select(ToStored)];
    }

    public async Task<StoredGeometry?> SaveAsync(string cameraId, string kind, string itemId, string? geometry, int expectedVersion, string user, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.CameraGeometries.FirstOrDefaultAsync(g => g.CameraId == cameraId && g.Kind == kind && g.ItemId == itemId, ct);
        if ((row?.Version ?? 0) != expectedVersion) return null;
        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (row is null)
        {
            row = new Storage.Entities.CameraGeometry { CameraId = cameraId, Kind = kind, ItemId = itemId, Geometry = geometry ?? Removed, Version = 1, UpdatedBy = user, UpdatedAt = at };
            db.CameraGeometries.Add(row);
        }
        else
        {
            row.Geometry = geometry ?? Removed;
            row.Version = expectedVersion + 1;
            row.UpdatedBy = user;
            row.UpdatedAt = at;
        }

        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another editor saved first: the version moved under us (update) or the row appeared (first edit).
            return null;
        }

        return ToStored(row);
    }

    private static StoredGeometry ToStored(Storage.Entities.CameraGeometry g) =>
        new(g.CameraId, g.Kind, g.ItemId, g.Geometry == Removed ? null : g.Geometry, g.Version, g.UpdatedAt, g.UpdatedBy);
}

/// <summary>
/// A camera's effective geometry: the configuration file's zones and lines with the stored edits applied. Feeds the
/// running pipelines (through <see cref="CameraRuntimes"/>) and the rules document the API serves.
/// </summary>
public sealed class CameraGeometryService(ICameraGeometryStore store, Cameras.CameraCatalog catalog, CameraRuntimes runtimes)
{
    public const string Zone = "zone";
    public const string Line = "line";

    /// <summary>The district the cameras are checked against (sites).</summary>
    public CivicLensConfig Config => catalog.District;

    /// <summary>A registry camera with its definition's zones and lines (before edits); null when unknown.</summary>
    public Task<CameraConfig?> FindAsync(string cameraId, CancellationToken ct) => catalog.FindAsync(cameraId, ct);

    public ICameraGeometryStore Store => store;

    /// <summary>At start: every camera's stored edits go to the pipelines before they build their rules.</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        foreach (var group in (await store.ListAsync(null, ct)).GroupBy(r => r.CameraId, StringComparer.Ordinal))
        {
            runtimes.SetGeometry(group.Key, ToOverrides(group));
        }
    }

    /// <summary>After a save: the camera's pipeline picks the new geometry up on its next frame.</summary>
    public async Task RefreshAsync(string cameraId, CancellationToken ct) =>
        runtimes.SetGeometry(cameraId, ToOverrides(await store.ListAsync(cameraId, ct)));

    public static GeometryOverrides ToOverrides(IEnumerable<StoredGeometry> rows)
    {
        var zones = new Dictionary<string, ZoneConfig?>(StringComparer.Ordinal);
        var lines = new Dictionary<string, LineConfig?>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            if (r.Kind == Zone) zones[r.ItemId] = r.Geometry is null ? null : ParseZone(r.ItemId, r.Geometry);
            else if (r.Kind == Line) lines[r.ItemId] = r.Geometry is null ? null : ParseLine(r.ItemId, r.Geometry);
        }

        return new GeometryOverrides(zones, lines);
    }

    /// <summary>The camera's rules document (what <c>GET /api/cameras/{id}/rules</c> serves) with the effective geometry and each item's version.</summary>
    public async Task<string> DocumentAsync(string cameraId, string? stored, CancellationToken ct)
    {
        var camera = await catalog.FindAsync(cameraId, ct);
        if (camera is null) return stored ?? "{}";
        var rows = await store.ListAsync(cameraId, ct);
        var effective = ToOverrides(rows).ApplyTo(camera);
        var doc = JsonNode.Parse(DistrictSync.RulesDocument(effective))!.AsObject();
        int VersionOf(string kind, string id) => rows.FirstOrDefault(r => r.Kind == kind && r.ItemId == id)?.Version ?? 0;
        foreach (var (key, kind) in new[] { ("zones", Zone), ("lines", Line) })
        {
            foreach (var item in doc[key]!.AsArray())
            {
                var id = item!["id"]!.GetValue<string>();
                item["version"] = VersionOf(kind, id);
                item["edited"] = rows.Any(r => r.Kind == kind && r.ItemId == id);
            }
        }

        return doc.ToJsonString();
    }

    internal static ZoneConfig ParseZone(string id, string json)
    {
        var node = JsonNode.Parse(json)!;
        var points = node["polygon"]!.AsArray().Select(p => new PointF(p![0]!.GetValue<float>(), p[1]!.GetValue<float>())).ToList();
        return new ZoneConfig(id, new Polygon(points), node["site"]?.GetValue<string>());
    }

    internal static LineConfig ParseLine(string id, string json)
    {
        var node = JsonNode.Parse(json)!;
        static PointF P(JsonNode? n) => new(n![0]!.GetValue<float>(), n[1]!.GetValue<float>());
        return new LineConfig(id, P(node["from"]), P(node["to"]), P(node["inPoint"]), node["site"]?.GetValue<string>());
    }
}
