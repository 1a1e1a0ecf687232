using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.RegularExpressions;
using CivicLens.Domain.Geometry;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Security;
using CivicLens.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>A zone as the editor saves it: its polygon in the camera's configured pixels, and the version the editor started from (0: never edited).</summary>
public sealed record ZoneEdit(float[][]? Polygon, string? Site, int Version);

/// <summary>A counting line as the editor saves it; crossings towards <see cref="InPoint"/>'s side are "in".</summary>
public sealed record LineEdit(float[]? From, float[]? To, float[]? InPoint, string? Site, int Version);

/// <summary>A saved zone or line, with its new version.</summary>
public sealed record GeometrySaved(string Id, string Kind, int Version, JsonElement? Geometry);

/// <summary>
/// The console's zone and line editor: saves a camera's zones and lines with the configuration loader's own checks,
/// optimistic concurrency (versions), an audit record, and the camera's running rules rebuilt without a restart.
/// </summary>
public static partial class CameraEditEndpoints
{
    private const int MaxPoints = 100;

    public static void MapCameraEditing(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/cameras/{id}").WithTags("registry").RequireAuthorization(Policies.Configure);
        g.MapPut("/zones/{zoneId}", PutZoneAsync).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapDelete("/zones/{zoneId}", (string id, string zoneId, int? version, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CameraGeometryService geometry,
            Auditor audit, CancellationToken ct) => DeleteAsync(id, CameraGeometryService.Zone, zoneId, version, p, dbs, geometry, audit, ct))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPut("/lines/{lineId}", PutLineAsync).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapDelete("/lines/{lineId}", (string id, string lineId, int? version, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CameraGeometryService geometry,
            Auditor audit, CancellationToken ct) => DeleteAsync(id, CameraGeometryService.Line, lineId, version, p, dbs, geometry, audit, ct))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex IdPattern();

    private static async Task<Results<Ok<GeometrySaved>, ProblemHttpResult>> PutZoneAsync(string id, string zoneId, ZoneEdit body, ClaimsPrincipal p,
        IDbContextFactory<CivicLensDb> dbs, CameraGeometryService geometry, Auditor audit, CancellationToken ct)
    {
        var (camera, missing) = await FindAsync(id, p, dbs, geometry, ct);
        if (missing is not null) return missing;
        if (!IdPattern().IsMatch(zoneId)) return Invalid("id", "a zone id is 1 to 64 letters, digits, '-' or '_'", null);
        if (body.Polygon is null) return Invalid("polygon", "is required: [[x, y], ...] in the camera's configured pixels", null);
        if (body.Polygon.Length > MaxPoints) return Invalid("polygon", $"has {body.Polygon.Length} points; at most {MaxPoints}", null);
        var points = new List<PointF>(body.Polygon.Length);
        for (var i = 0; i < body.Polygon.Length; i++)
        {
            if (body.Polygon[i] is not { Length: 2 } xy || !float.IsFinite(xy[0]) || !float.IsFinite(xy[1])) return Invalid("polygon", $"point {i + 1} is not [x, y]", i);
            points.Add(new PointF(xy[0], xy[1]));
        }

        if (GeometryCheck.Zone(points, camera!.Width, camera.Height) is { } problem) return Invalid(problem.Field, $"zone '{zoneId}': {problem.Message}", problem.Point);
        var site = body.Site ?? camera.Site;
        if (SiteProblem(geometry.Config, site) is { } siteProblem) return siteProblem;
        var json = JsonSerializer.Serialize(new { polygon = points.Select(q => new[] { q.X, q.Y }), site }, Web);
        return await SaveAsync(camera.Id, CameraGeometryService.Zone, zoneId, json, body.Version, $"{points.Count} points", p, geometry, audit, ct);
    }

    private static async Task<Results<Ok<GeometrySaved>, ProblemHttpResult>> PutLineAsync(string id, string lineId, LineEdit body, ClaimsPrincipal p,
        IDbContextFactory<CivicLensDb> dbs, CameraGeometryService geometry, Auditor audit, CancellationToken ct)
    {
        var (camera, missing) = await FindAsync(id, p, dbs, geometry, ct);
        if (missing is not null) return missing;
        if (!IdPattern().IsMatch(lineId)) return Invalid("id", "a line id is 1 to 64 letters, digits, '-' or '_'", null);
        var given = new[] { ("from", body.From, 0), ("to", body.To, 1), ("inPoint", body.InPoint, 2) };
        foreach (var (key, xy, index) in given)
        {
            if (xy is not { Length: 2 } || !float.IsFinite(xy[0]) || !float.IsFinite(xy[1])) return Invalid(key, $"is required as [x, y]", index);
        }

        var (from, to, inPoint) = (new PointF(body.From![0], body.From[1]), new PointF(body.To![0], body.To[1]), new PointF(body.InPoint![0], body.InPoint[1]));
        if (GeometryCheck.Line(from, to, inPoint, camera!.Width, camera.Height) is { Count: > 0 } problems)
        {
            return Invalid(problems[0].Field == "in_point" ? "inPoint" : problems[0].Field, $"line '{lineId}': {problems[0].Message}", problems[0].Point);
        }

        var site = body.Site ?? camera.Site;
        if (SiteProblem(geometry.Config, site) is { } siteProblem) return siteProblem;
        var json = JsonSerializer.Serialize(new { from = new[] { from.X, from.Y }, to = new[] { to.X, to.Y }, inPoint = new[] { inPoint.X, inPoint.Y }, site }, Web);
        return await SaveAsync(camera.Id, CameraGeometryService.Line, lineId, json, body.Version, "line", p, geometry, audit, ct);
    }

    private static async Task<Results<Ok<GeometrySaved>, ProblemHttpResult>> DeleteAsync(string id, string kind, string itemId, int? version, ClaimsPrincipal p,
        IDbContextFactory<CivicLensDb> dbs, CameraGeometryService geometry, Auditor audit, CancellationToken ct)
    {
        var (camera, missing) = await FindAsync(id, p, dbs, geometry, ct);
        if (missing is not null) return missing;
        var effective = CameraGeometryService.ToOverrides(await geometry.Store.ListAsync(camera!.Id, ct)).ApplyTo(camera);
        var exists = kind == CameraGeometryService.Zone ? effective.Zones.Any(z => z.Id == itemId) : effective.Lines.Any(l => l.Id == itemId);
        if (!exists) return ApiProblems.NotFound(kind);
        if (version is null) return Invalid("version", "is required: the version the editor shows", null);
        var users = camera.Rules.Where(r => UsesGeometry(r, kind, itemId)).Select(r => r.Id).ToList();
        if (users.Count > 0)
        {
            return Invalid("id", $"{kind} '{itemId}' is used by rule{(users.Count > 1 ? "s" : "")} {string.Join(", ", users.Select(u => $"'{u}'"))}: "
                + "a zone or line a rule uses cannot be deleted (change the rule in the configuration file first)", null);
        }

        return await SaveAsync(camera.Id, kind, itemId, null, version.Value, "deleted", p, geometry, audit, ct);
    }

    private static bool UsesGeometry(RuleConfig rule, string kind, string id)
    {
        // Every rule type names its zone or line in a property of that name.
        var property = rule.GetType().GetProperty(kind == CameraGeometryService.Zone ? "Zone" : "Line");
        return property?.GetValue(rule) is string used && used == id;
    }

    private static async Task<Results<Ok<GeometrySaved>, ProblemHttpResult>> SaveAsync(string cameraId, string kind, string itemId, string? json, int version,
        string what, ClaimsPrincipal p, CameraGeometryService geometry, Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var target = $"camera:{cameraId}/{kind}:{itemId}";
        var saved = await geometry.Store.SaveAsync(cameraId, kind, itemId, json, version, user.Name, ct);
        if (saved is null)
        {
            var now = (await geometry.Store.ListAsync(cameraId, ct)).FirstOrDefault(r => r.Kind == kind && r.ItemId == itemId)?.Version ?? 0;
            await audit.RecordAsync("config.change", "conflict", target, $"edited from version {version}, stored {now}");
            return TypedResults.Problem(title: "Conflict", statusCode: StatusCodes.Status409Conflict,
                detail: $"{kind} '{itemId}' was changed by someone else (now version {now}, this edit started from {version}): reload to see it, then edit again",
                extensions: new Dictionary<string, object?> { ["version"] = now });
        }

        await audit.RecordAsync("config.change", "ok", target, string.Create(CultureInfo.InvariantCulture, $"{what}, version {saved.Version}"));
        await geometry.RefreshAsync(cameraId, ct);
        var element = json is null ? (JsonElement?)null : JsonDocument.Parse(json).RootElement.Clone();
        return TypedResults.Ok(new GeometrySaved(itemId, kind, saved.Version, element));
    }

    /// <summary>The camera in the caller's scope and in this server's configuration (the source of its resolution and rules).</summary>
    private static async Task<(CameraConfig? Camera, ProblemHttpResult? Problem)> FindAsync(string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraGeometryService geometry, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var area = await db.Cameras.AsNoTracking().Where(c => c.Id == id).Select(c => c.AreaId).FirstOrDefaultAsync(ct);
        if (area is null || !user.Sees(area)) return (null, ApiProblems.NotFound("camera"));
        var camera = await geometry.FindAsync(id, ct);
        return camera is null
            ? (null, ApiProblems.Conflict("this camera's definition cannot be read against the district any more: fix it with PUT /api/cameras/{id} first"))
            : (camera, null);
    }

    private static ProblemHttpResult? SiteProblem(CivicLensConfig config, string? site) =>
        site is null || config.Sites.Any(s => s.Id == site) ? null
            : Invalid("site", $"unknown site '{site}' (sites: {(config.Sites.Count == 0 ? "none defined" : string.Join(", ", config.Sites.Select(s => s.Id)))})", null);

    /// <summary>A validation answer an editor can place: the field, and the point to blame when there is one.</summary>
    private static ProblemHttpResult Invalid(string field, string detail, int? point) =>
        TypedResults.Problem(title: "Invalid geometry", detail: detail, statusCode: StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["field"] = field, ["point"] = point });

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
