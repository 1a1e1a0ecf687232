using System.Security.Claims;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

public sealed record MapConfig(string? Tiles);

/// <summary>A GeoJSON feature (RFC 7946); coordinates are the stored GeoJSON as it is.</summary>
public sealed record GeoFeature(string Type, GeoGeometry Geometry, IReadOnlyDictionary<string, string?> Properties);

public sealed record GeoGeometry(string Type, JsonElement Coordinates);

public sealed record GeoFeatures(string Type, IReadOnlyList<GeoFeature> Features);

/// <summary>Cameras grouped in one grid cell: how many, and where their centre is.</summary>
public sealed record MapCell(double Latitude, double Longitude, int Count);

/// <summary>A camera as the map draws it (its wedge from heading, field of view and range).</summary>
public sealed record MapCamera(string Id, string Name, double Latitude, double Longitude, double? Heading, double? FieldOfView, double? Range, string Health,
    string Department, string? Site, bool Enabled);

/// <summary>Either cells (low zoom, or too many cameras in view) or cameras, never 290,000 markers at once.</summary>
public sealed record MapCameras(int Zoom, int Total, IReadOnlyList<MapCell> Cells, IReadOnlyList<MapCamera> Cameras);

/// <summary>
/// Open events of one category at one camera (their department: the one routing gives them), or one open case
/// (its department), placed at its camera or its own place.
/// </summary>
public sealed record MapIncident(string Kind, string Camera, double Latitude, double Longitude, string Category, string Department, int New, int Acknowledged,
    DateTimeOffset Latest, long? CaseId = null, string? Title = null, string? State = null, DateTimeOffset? DueAt = null);

public sealed record MapIncidents(IReadOnlyList<MapIncident> Items, bool Truncated);

/// <summary>How often a rule's events were dismissed as false positives (a rule that cries wolf needs tuning).</summary>
public sealed record RuleDismissals(string Camera, string Rule, int Total, int Dismissed);

/// <summary>
/// The console map: areas and sites as GeoJSON, cameras clustered on a grid in SQL by bounding box and zoom, open
/// events and cases placed at their cameras; and dismissals counted per rule. All scoped to the caller's areas.
/// </summary>
public static class MapEndpoints
{
    /// <summary>From this zoom on, cameras come one by one (a street or two in view).</summary>
    public const int CameraZoom = 16;

    /// <summary>Most single cameras or incidents in one answer; beyond it the answer is cells (cameras) or truncated (incidents).</summary>
    public const int MaxItems = 2000;

    private static readonly string[] OpenStates = ["new", "acknowledged"];

    public static void MapMap(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/map").WithTags("map");
        g.MapGet("/config", (ServerOptions options) => TypedResults.Ok(new MapConfig(options.TileUrlTemplate))).RequireAuthorization(Policies.ReadRegistry);
        g.MapGet("/areas", AreasAsync).RequireAuthorization(Policies.ReadRegistry);
        g.MapGet("/sites", SitesAsync).RequireAuthorization(Policies.ReadRegistry);
        g.MapGet("/cameras", CamerasAsync).RequireAuthorization(Policies.ReadRegistry).ProducesProblem(StatusCodes.Status400BadRequest);
        g.MapGet("/incidents", IncidentsAsync).RequireAuthorization(Policies.ReadEvents).ProducesProblem(StatusCodes.Status400BadRequest);
        app.MapGet("/api/events/dismissals", DismissalsAsync).WithTags("events").RequireAuthorization(Policies.ReadEvents);
    }

    private static async Task<Ok<GeoFeatures>> AreasAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var areas = await db.Areas.AsNoTracking().OrderBy(a => a.Id).ToListAsync(ct);
        // As /api/areas: a scoped account sees its areas and the district around them.
        var features = areas.Where(a => user.Sees(a.Id) || areas.Any(c => c.ParentId == a.Id && user.Sees(c.Id)))
            .Select(a => Feature(a.Polygon, new Dictionary<string, string?> { ["id"] = a.Id, ["name"] = a.Name, ["parent"] = a.ParentId }))
            .OfType<GeoFeature>().ToList();
        return TypedResults.Ok(new GeoFeatures("FeatureCollection", features));
    }

    private static async Task<Ok<GeoFeatures>> SitesAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Sites.AsNoTracking().Where(s => s.Polygon != null);
        if (user.Areas is not null) q = q.Where(s => user.Areas.Contains(s.AreaId));
        var sites = await q.OrderBy(s => s.Id).ToListAsync(ct);
        var features = sites.Select(s => Feature(s.Polygon!, new Dictionary<string, string?> { ["id"] = s.Id, ["name"] = s.Name, ["kind"] = s.Kind, ["area"] = s.AreaId }))
            .OfType<GeoFeature>().ToList();
        return TypedResults.Ok(new GeoFeatures("FeatureCollection", features));
    }

    private static GeoFeature? Feature(string polygon, Dictionary<string, string?> properties)
    {
        try
        {
            using var doc = JsonDocument.Parse(polygon);
            return new GeoFeature("Feature", new GeoGeometry("Polygon", doc.RootElement.Clone()), properties);
        }
        catch (JsonException)
        {
            // A malformed stored outline is left off the map rather than failing the whole layer.
            return null;
        }
    }

    private static bool TryBox(double? west, double? south, double? east, double? north, int? zoom, out (double W, double S, double E, double N, int Z) box, out string? error)
    {
        box = default;
        error = null;
        if (west is not { } w || south is not { } s || east is not { } e || north is not { } n) error = "west, south, east and north are required (degrees)";
        else if (!(w >= -180 && e <= 180 && w < e && s >= -90 && n <= 90 && s < n)) error = "the box must lie within -180..180, -90..90 with west < east and south < north";
        else if (zoom is { } z && z is < 0 or > 22) error = "zoom must be between 0 and 22";
        else box = (w, s, e, n, zoom ?? 12);
        return error is null;
    }

    private static async Task<Results<Ok<MapCameras>, ProblemHttpResult>> CamerasAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, double? west, double? south,
        double? east, double? north, int? zoom, string? department, CancellationToken ct)
    {
        if (!TryBox(west, south, east, north, zoom, out var box, out var error)) return ApiProblems.BadRequest(error!);
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        // A retired camera is gone from the street: the registry keeps it, the map does not.
        var q = db.Cameras.AsNoTracking().Where(c => c.RetiredAt == null && c.Longitude >= box.W && c.Longitude <= box.E && c.Latitude >= box.S && c.Latitude <= box.N);
        if (user.Areas is not null) q = q.Where(c => user.Areas.Contains(c.AreaId));
        if (department is not null) q = q.Where(c => c.DepartmentId == department);
        if (box.Z >= CameraZoom)
        {
            var rows = await q.OrderBy(c => c.Id).Take(MaxItems + 1)
                .Select(c => new MapCamera(c.Id, c.Name, c.Latitude, c.Longitude, c.Heading, c.FieldOfView, c.Range, c.Health, c.DepartmentId, c.SiteId, c.Enabled))
                .ToListAsync(ct);
            if (rows.Count <= MaxItems) return TypedResults.Ok(new MapCameras(box.Z, rows.Count, [], rows));
        }

        // About 64 px cells on 256 px tiles; offsets keep the cell index positive so integer truncation is a floor.
        var size = 360.0 / Math.Pow(2, box.Z) / 4;
        var cells = await q.GroupBy(c => new { X = (int)((c.Longitude + 180) / size), Y = (int)((c.Latitude + 90) / size) })
            .Select(g => new MapCell(g.Average(c => c.Latitude), g.Average(c => c.Longitude), g.Count()))
            .ToListAsync(ct);
        return TypedResults.Ok(new MapCameras(box.Z, cells.Sum(c => c.Count), cells, []));
    }

    private static async Task<Results<Ok<MapIncidents>, ProblemHttpResult>> IncidentsAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, double? west, double? south,
        double? east, double? north, DateTimeOffset? from, DateTimeOffset? to, string? category, string? department, string? state, CancellationToken ct)
    {
        if (!TryBox(west, south, east, north, null, out var box, out var error)) return ApiProblems.BadRequest(error!);
        if (state is not (null or "new" or "acknowledged" or "cases")) return ApiProblems.BadRequest("state is new, acknowledged or cases");
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var items = new List<MapIncident>();
        var truncated = false;
        if (state is not "cases")
        {
            var events = db.Events.AsNoTracking().InScope(user).Where(e => OpenStates.Contains(e.State));
            if (state is not null) events = events.Where(e => e.State == state);
            if (from is { } f) events = events.Where(e => e.At >= f.ToUnixTimeMilliseconds());
            if (to is { } t) events = events.Where(e => e.At < t.ToUnixTimeMilliseconds());
            if (category is not null) events = events.Where(e => e.Category == category);
            var cameras = db.Cameras.AsNoTracking().Where(c => c.Longitude >= box.W && c.Longitude <= box.E && c.Latitude >= box.S && c.Latitude <= box.N);
            var joined = from e in events join c in cameras on e.CameraId equals c.Id select new { Event = e, Camera = c };
            if (department is not null)
            {
                // An event belongs to the department routing gives it (category x the camera's area), as its case
                // would, not to the department that runs the camera.
                var pairs = await joined.Select(x => new { x.Event.Category, x.Camera.AreaId }).Distinct().ToListAsync(ct);
                var owned = pairs.Where(x => desk.Router.OwnerOf(x.Category, x.AreaId) == department).Select(x => x.Category + "|" + x.AreaId).ToList();
                joined = joined.Where(x => owned.Contains(x.Event.Category + "|" + x.Camera.AreaId));
            }

            var groups = await (from x in joined
                                group x.Event by new { x.Event.CameraId, x.Event.Category, x.Camera.Latitude, x.Camera.Longitude, x.Camera.AreaId, x.Camera.DepartmentId } into g
                                select new
                                {
                                    g.Key.CameraId,
                                    g.Key.Category,
                                    g.Key.Latitude,
                                    g.Key.Longitude,
                                    g.Key.AreaId,
                                    g.Key.DepartmentId,
                                    New = g.Count(x => x.State == "new"),
                                    Acknowledged = g.Count(x => x.State == "acknowledged"),
                                    Latest = g.Max(x => x.At),
                                }).Take(MaxItems + 1).ToListAsync(ct);
            truncated = groups.Count > MaxItems;
            items.AddRange(groups.Take(MaxItems).Select(x => new MapIncident("events", x.CameraId, x.Latitude, x.Longitude, x.Category,
                desk.Router.OwnerOf(x.Category, x.AreaId) ?? x.DepartmentId, x.New, x.Acknowledged, DateTimeOffset.FromUnixTimeMilliseconds(x.Latest))));
        }

        if (state is null or "cases")
        {
            var cases = db.Cases.AsNoTracking().InScope(user).Where(c => c.State != "closed");
            if (category is not null) cases = cases.Where(c => c.Category == category);
            if (department is not null) cases = cases.Where(c => c.DepartmentId == department);
            if (from is { } f) cases = cases.Where(c => c.OpenedAt >= f.ToUnixTimeMilliseconds());
            if (to is { } t) cases = cases.Where(c => c.OpenedAt < t.ToUnixTimeMilliseconds());
            // A case is drawn at its own place (a report's pin, its camera's position); an older case without one at
            // the camera of its first event (joined once). Placed in SQL, so the box is applied before the limit, not after it.
            var placed = from c in cases
                         let first = db.Events.Where(e => e.CaseId == c.Id).OrderBy(e => e.At).Select(e => e.CameraId).FirstOrDefault()
                         join k in db.Cameras on first equals k.Id into ks
                         from k in ks.DefaultIfEmpty()
                         select new
                         {
                             c.Id,
                             c.Title,
                             c.State,
                             c.Category,
                             c.DepartmentId,
                             c.OpenedAt,
                             c.DueAt,
                             Camera = first,
                             Latitude = c.Latitude ?? (k == null ? null : (double?)k.Latitude),
                             Longitude = c.Longitude ?? (k == null ? null : (double?)k.Longitude),
                         };
            var rows = await placed.Where(x => x.Longitude >= box.W && x.Longitude <= box.E && x.Latitude >= box.S && x.Latitude <= box.N)
                .OrderByDescending(x => x.OpenedAt).Take(MaxItems + 1).ToListAsync(ct);
            truncated |= rows.Count > MaxItems;
            items.AddRange(rows.Take(MaxItems).Select(r => new MapIncident("case", r.Camera ?? "", r.Latitude!.Value, r.Longitude!.Value, r.Category, r.DepartmentId, 0, 0,
                DateTimeOffset.FromUnixTimeMilliseconds(r.OpenedAt), r.Id, r.Title, r.State, r.DueAt is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null)));
        }

        return TypedResults.Ok(new MapIncidents(items, truncated));
    }

    private static async Task<Ok<List<RuleDismissals>>> DismissalsAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, DateTimeOffset? from, DateTimeOffset? to,
        string? camera, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Events.AsNoTracking().InScope(user);
        if (from is { } f) q = q.Where(e => e.At >= f.ToUnixTimeMilliseconds());
        if (to is { } t) q = q.Where(e => e.At < t.ToUnixTimeMilliseconds());
        if (camera is not null) q = q.Where(e => e.CameraId == camera);
        var rows = await q.GroupBy(e => new { e.CameraId, e.Rule })
            .Select(g => new RuleDismissals(g.Key.CameraId, g.Key.Rule, g.Count(), g.Count(e => e.State == "dismissed")))
            .ToListAsync(ct);
        return TypedResults.Ok(rows.OrderByDescending(r => r.Dismissed).ThenBy(r => r.Camera, StringComparer.Ordinal).ThenBy(r => r.Rule, StringComparer.Ordinal).ToList());
    }
}
