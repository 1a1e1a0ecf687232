using System.Globalization;
using System.Text.Json;
using CivicLens.Rules.Configuration;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Hosting;

/// <summary>What a district file does to the registry's cameras.</summary>
public enum CameraImportMode
{
    /// <summary>Areas, departments and sites only.</summary>
    None,

    /// <summary>Also creates the cameras the registry does not have yet (every <c>serve --config</c> start).</summary>
    CreateMissing,

    /// <summary>Also updates the cameras it names (<c>civiclens district import</c>).</summary>
    CreateOrUpdate,
}

/// <summary>
/// Brings the store's district (areas, departments, sites) in line with the district file, and imports its cameras
/// into the registry (see <see cref="CameraImportMode"/>). A camera is never deleted (its events keep their camera).
/// Stream URLs are stored only sealed.
/// </summary>
public static class DistrictSync
{
    public const string StreamPurpose = "camera-stream";

    /// <summary>The area an event of this camera belongs to.</summary>
    public static string AreaOf(CivicLensConfig config, CameraConfig camera) =>
        camera.Area ?? config.District?.Id ?? "district";

    /// <param name="configText">The district file's text, for the cameras' analytics definitions as written.</param>
    public static async Task<int> ImportAsync(CivicLensDb db, CivicLensConfig config, string? configText, SecretBox secrets, CameraImportMode cameras, CancellationToken ct)
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

        changes += await db.SaveChangesAsync(ct);
        if (cameras == CameraImportMode.None) return changes;

        // Cameras: the registry is their system of record. A district file creates the cameras the registry lacks;
        // it changes existing ones only when imported on purpose (civiclens district import), and never turns one on
        // that an operator turned off, nor touches a retired one.
        var definitions = configText is null ? new Dictionary<string, string>() : ConfigLoader.CameraDefinitions(configText);
        var now = DateTimeOffset.UtcNow;
        var stamp = now.ToUnixTimeMilliseconds();
        foreach (var c in config.Cameras)
        {
            // Departments named only on a camera still need a row (a rules-only file has no departments list).
            if (c.Department is { } dep && !config.Departments.Any(d => d.Id == dep) && await db.Departments.FindAsync([dep], ct) is null)
            {
                db.Departments.Add(new Department { Id = dep, Name = dep });
            }

            var existing = await db.Cameras.FindAsync([c.Id], ct);
            if (existing is not null && (cameras == CameraImportMode.CreateMissing || existing.RetiredAt is not null)) continue;
            var row = existing ?? new Camera { Id = c.Id, Name = c.Id, AreaId = districtId, Purpose = "", LegalBasis = "", DepartmentId = "", Enabled = true };
            row.Name = c.Name ?? c.Id;
            row.AreaId = AreaOf(config, c);
            row.SiteId = c.Site;
            row.Latitude = c.Placement?.Location.Latitude ?? 0;
            row.Longitude = c.Placement?.Location.Longitude ?? 0;
            row.Heading = c.Placement?.Heading;
            row.FieldOfView = c.Placement?.FieldOfView;
            row.Range = c.Placement?.Range;
            row.Purpose = c.Purpose ?? "";
            row.LegalBasis = c.LegalBasis ?? "";
            row.DepartmentId = c.Department ?? "";
            row.RetentionDays = (int)Math.Ceiling((c.Retention ?? TimeSpan.Zero).TotalDays);
            row.Analytics = string.Join(",", c.Rules.Select(r => r.Type).Distinct());
            row.Rules = RulesDocument(c);
            row.Definition = definitions.GetValueOrDefault(c.Id);
            if (c.Source is not null) row.StreamUrlSealed = secrets.SealText(c.Source, StreamPurpose);
            row.UpdatedAt = stamp;
            if (existing is null)
            {
                db.Cameras.Add(row);
                Cameras.CameraStateStore.Apply(db, row, Cameras.CameraRegistry.Initial(row, now));
            }
            else
            {
                row.Version++;
            }
        }

        changes += await db.SaveChangesAsync(ct);
        return changes;
    }

    /// <summary>
    /// The district as the store holds it (areas, departments, sites), for a registry change made without the district
    /// file at hand (<c>civiclens district import cameras.csv</c>, a server started without <c>--config</c>).
    /// </summary>
    public static async Task<CivicLensConfig> FromStoreAsync(CivicLensDb db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        var areas = await db.Areas.AsNoTracking().ToListAsync(ct);
        var district = areas.FirstOrDefault(a => a.ParentId is null);
        return new CivicLensConfig
        {
            District = district is null ? null : new DistrictConfig(district.Id, district.Name, Outline(district.Polygon)),
            Areas = [.. areas.Where(a => a.ParentId is not null).Select(a => new AreaConfig(a.Id, a.Name, Outline(a.Polygon)))],
            Departments = [.. (await db.Departments.AsNoTracking().ToListAsync(ct)).Select(d => new DepartmentConfig(d.Id, d.Name, d.Contact, []))],
            Sites = [.. (await db.Sites.AsNoTracking().ToListAsync(ct)).Select(x => new SiteConfig(x.Id, x.Name, x.Kind) { Area = x.AreaId, Outline = x.Polygon is null ? null : Outline(x.Polygon) })],
        };
    }

    private static List<GeoPoint> Outline(string polygon)
    {
        var rings = JsonSerializer.Deserialize<double[][][]>(polygon);
        return rings is { Length: > 0 } ? [.. rings[0].Where(p => p.Length >= 2).Select(p => new GeoPoint(p[0], p[1]))] : [];
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
