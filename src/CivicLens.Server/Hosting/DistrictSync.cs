using System.Globalization;
using System.Text.Json;
using CivicLens.Rules.Configuration;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Hosting;

/// <summary>
/// Brings the store's registry (district, areas, departments, sites, cameras) in line with the configuration file
/// at start. A camera no longer in the file is disabled, never deleted (its events keep their camera). Stream
/// URLs are stored only sealed.
/// </summary>
public static class DistrictSync
{
    public const string StreamPurpose = "camera-stream";

    /// <summary>The area an event of this camera belongs to.</summary>
    public static string AreaOf(CivicLensConfig config, CameraConfig camera) =>
        camera.Area ?? config.District?.Id ?? "district";

    public static async Task<int> ImportAsync(CivicLensDb db, CivicLensConfig config, SecretBox secrets, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(config);
        var changes = 0;
        var districtId = config.District?.Id ?? "district";
        await Upsert(db.Areas, districtId, () => new Area { Id = districtId, Name = config.District?.Name ?? "District", Polygon = Polygon(config.District?.Outline) }, a =>
        {
            a.Name = config.District?.Name ?? a.Name;
            a.Polygon = Polygon(config.District?.Outline);
        }, ct);
        foreach (var area in config.Areas)
        {
            await Upsert(db.Areas, area.Id, () => new Area { Id = area.Id, Name = area.Name, ParentId = districtId, Polygon = Polygon(area.Outline) }, a =>
            {
                a.Name = area.Name;
                a.ParentId = districtId;
                a.Polygon = Polygon(area.Outline);
            }, ct);
        }

        foreach (var d in config.Departments)
        {
            await Upsert(db.Departments, d.Id, () => new Department { Id = d.Id, Name = d.Name, Contact = d.Contact }, x =>
            {
                x.Name = d.Name;
                x.Contact = d.Contact;
            }, ct);
        }

        foreach (var s in config.Sites)
        {
            var attrs = s.Attributes.Count > 0 ? JsonSerializer.Serialize(s.Attributes) : null;
            await Upsert(db.Sites, s.Id, () => new Site { Id = s.Id, Name = s.Name, Kind = s.Kind, AreaId = s.Area ?? districtId, Polygon = PolygonOrNull(s.Outline), Attributes = attrs }, x =>
            {
                x.Name = s.Name;
                x.Kind = s.Kind;
                x.AreaId = s.Area ?? districtId;
                x.Polygon = PolygonOrNull(s.Outline);
                x.Attributes = attrs;
            }, ct);
        }

        foreach (var c in config.Cameras)
        {
            // Departments named only on a camera still need a row (a rules-only file has no departments list).
            if (c.Department is { } dep && !config.Departments.Any(d => d.Id == dep) && await db.Departments.FindAsync([dep], ct) is null)
            {
                db.Departments.Add(new Department { Id = dep, Name = dep });
            }

            void Apply(Camera x)
            {
                x.Name = c.Name ?? c.Id;
                x.AreaId = AreaOf(config, c);
                x.SiteId = c.Site;
                x.Latitude = c.Placement?.Location.Latitude ?? 0;
                x.Longitude = c.Placement?.Location.Longitude ?? 0;
                x.Heading = c.Placement?.Heading;
                x.FieldOfView = c.Placement?.FieldOfView;
                x.Range = c.Placement?.Range;
                x.Purpose = c.Purpose ?? "";
                x.LegalBasis = c.LegalBasis ?? "";
                x.DepartmentId = c.Department ?? "";
                x.RetentionDays = (int)Math.Ceiling((c.Retention ?? TimeSpan.Zero).TotalDays);
                x.Analytics = string.Join(",", c.Rules.Select(r => r.Type).Distinct());
                x.Enabled = true;
                x.Rules = RulesDocument(c);
                if (c.Source is not null) x.StreamUrlSealed = secrets.SealText(c.Source, StreamPurpose);
            }

            await Upsert(db.Cameras, c.Id, () =>
            {
                var cam = new Camera { Id = c.Id, Name = c.Id, AreaId = districtId, Purpose = "", LegalBasis = "", DepartmentId = "" };
                Apply(cam);
                return cam;
            }, Apply, ct);
        }

        var configured = config.Cameras.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in await db.Cameras.Where(c => c.Enabled).ToListAsync(ct))
        {
            if (!configured.Contains(gone.Id)) gone.Enabled = false;
        }

        changes += await db.SaveChangesAsync(ct);
        return changes;
    }

    /// <summary>The camera's zones, lines and rules as one JSON document (what the console's editor shows and the API serves).</summary>
    public static string RulesDocument(CameraConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        static float[][] Points(IEnumerable<CivicLens.Domain.Geometry.PointF> points) => points.Select(p => new[] { p.X, p.Y }).ToArray();
        return JsonSerializer.Serialize(new
        {
            resolution = new[] { c.Width, c.Height },
            zones = c.Zones.Select(z => new { id = z.Id, site = z.Site, polygon = Points(z.Polygon.Points) }),
            lines = c.Lines.Select(l => new { id = l.Id, site = l.Site, from = new[] { l.From.X, l.From.Y }, to = new[] { l.To.X, l.To.Y }, inPoint = new[] { l.InPoint.X, l.InPoint.Y } }),
            privacyMasks = c.PrivacyMasks.Select(m => new { id = m.Id, polygon = Points(m.Polygon.Points) }),
            rules = c.Rules.Select(r => JsonSerializer.SerializeToElement(r, r.GetType(), RulesJson)),
        }, RulesJson);
    }

    private static readonly JsonSerializerOptions RulesJson = new(JsonSerializerDefaults.Web);

    private static async Task Upsert<T>(DbSet<T> set, string id, Func<T> create, Action<T> update, CancellationToken ct)
        where T : class
    {
        var existing = await set.FindAsync([id], ct);
        if (existing is null) set.Add(create());
        else update(existing);
    }

    private static string Polygon(IReadOnlyList<GeoPoint>? outline) => PolygonOrNull(outline) ?? "[]";

    private static string? PolygonOrNull(IReadOnlyList<GeoPoint>? outline)
    {
        if (outline is null) return null;
        // GeoJSON: a ring of [lon, lat] closed on its first point.
        var ring = outline.Select(p => new[] { Math.Round(p.Longitude, 7), Math.Round(p.Latitude, 7) }).ToList();
        if (ring.Count > 0 && (ring[0][0] != ring[^1][0] || ring[0][1] != ring[^1][1])) ring.Add(ring[0]);
        return JsonSerializer.Serialize(new[] { ring });
    }

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
