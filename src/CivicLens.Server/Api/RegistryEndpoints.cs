using System.Security.Claims;
using CivicLens.Pipeline;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Cameras;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>A camera as the API shows it: never its stream URL.</summary>
public sealed record CameraView(string Id, string Name, string Area, string? Site, double Latitude, double Longitude, double? Heading, double? FieldOfView,
    double? Range, string Purpose, string LegalBasis, string Department, int RetentionDays, IReadOnlyList<string> Analytics, bool Enabled, string Health,
    DateTimeOffset? HealthSince)
{
    public static CameraView From(Camera c) => new(c.Id, c.Name, c.AreaId, c.SiteId, c.Latitude, c.Longitude, c.Heading, c.FieldOfView, c.Range, c.Purpose,
        c.LegalBasis, c.DepartmentId, c.RetentionDays, c.Analytics.Split(',', StringSplitOptions.RemoveEmptyEntries), c.Enabled, c.Health,
        c.HealthSince is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null)
    {
        HealthReason = c.HealthReason,
        Retired = c.RetiredAt is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null,
        HasSource = c.StreamUrlSealed is not null,
        Version = c.Version,
        Node = c.Node,
    };

    /// <summary>Why it is in its state (plain words; never a stream address).</summary>
    public string? HealthReason { get; init; }

    /// <summary>When it was taken out of service for good; null while in service.</summary>
    public DateTimeOffset? Retired { get; init; }

    /// <summary>A stream is registered (its address is never shown back: it may carry credentials).</summary>
    public bool HasSource { get; init; }

    /// <summary>The registry entry's version; an edit names the version it started from.</summary>
    public int Version { get; init; }

    /// <summary>In a cluster, the worker node that runs it (docs/cluster.md); null on a single machine.</summary>
    public string? Node { get; init; }

    /// <summary>How the camera's pipeline is doing on this server; null when it does not run here (see <see cref="CameraLoadView"/>).</summary>
    public CameraLoadView? Load { get; init; }
}

public sealed record AreaView(string Id, string Name, string? Parent, string Polygon);

public sealed record SiteView(string Id, string Name, string? Kind, string Area, string? Polygon, string? Attributes);

public sealed record DepartmentView(string Id, string Name, string? Contact);

public sealed record CameraEnabled(bool Enabled);

/// <summary>The district's registry: areas, sites, departments, cameras (scoped to the caller's areas).</summary>
public static class RegistryEndpoints
{
    public static void MapRegistry(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api").WithTags("registry").RequireAuthorization(Policies.ReadRegistry);
        g.MapGet("/areas", async (ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct) =>
        {
            var user = CurrentUser.From(p)!;
            await using var db = await dbs.CreateDbContextAsync(ct);
            var areas = await db.Areas.AsNoTracking().OrderBy(a => a.Id).ToListAsync(ct);
            // A scoped account sees its areas and the district they belong to (for the map's outline).
            return TypedResults.Ok(areas.Where(a => user.Sees(a.Id) || areas.Any(c => c.ParentId == a.Id && user.Sees(c.Id)))
                .Select(a => new AreaView(a.Id, a.Name, a.ParentId, a.Polygon)).ToList());
        });
        g.MapGet("/sites", async (ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct) =>
        {
            var user = CurrentUser.From(p)!;
            await using var db = await dbs.CreateDbContextAsync(ct);
            var q = db.Sites.AsNoTracking();
            if (user.Areas is not null) q = q.Where(s => user.Areas.Contains(s.AreaId));
            return TypedResults.Ok(await q.OrderBy(s => s.Id).Select(s => new SiteView(s.Id, s.Name, s.Kind, s.AreaId, s.Polygon, s.Attributes)).ToListAsync(ct));
        });
        g.MapGet("/departments", async (IDbContextFactory<CivicLensDb> dbs, CancellationToken ct) =>
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            return TypedResults.Ok(await db.Departments.AsNoTracking().OrderBy(d => d.Id).Select(d => new DepartmentView(d.Id, d.Name, d.Contact)).ToListAsync(ct));
        });
        g.MapGet("/cameras", ListCamerasAsync).ProducesProblem(StatusCodes.Status400BadRequest);
        g.MapGet("/cameras/{id}", async Task<Results<Ok<CameraView>, ProblemHttpResult>> (string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
            CameraRuntimes runtimes, CancellationToken ct) =>
        {
            var user = CurrentUser.From(p)!;
            await using var db = await dbs.CreateDbContextAsync(ct);
            var c = await db.Cameras.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
            return c is null || !user.Sees(c.AreaId) ? ApiProblems.NotFound("camera") : TypedResults.Ok(CameraView.From(c).WithLoad(runtimes));
        });
        // The effective geometry: the file's zones and lines with the console's edits, each with its version.
        g.MapGet("/cameras/{id}/rules", async Task<Results<ContentHttpResult, ProblemHttpResult>> (string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
            CameraGeometryService geometry, CancellationToken ct) =>
        {
            var user = CurrentUser.From(p)!;
            await using var db = await dbs.CreateDbContextAsync(ct);
            var c = await db.Cameras.AsNoTracking().Where(x => x.Id == id).Select(x => new { x.AreaId, x.Rules }).FirstOrDefaultAsync(ct);
            return c is null || !user.Sees(c.AreaId) ? ApiProblems.NotFound("camera") : TypedResults.Content(await geometry.DocumentAsync(id, c.Rules, ct), "application/json");
        }).Produces(StatusCodes.Status200OK, contentType: "application/json");
        app.MapPost("/api/cameras/{id}/enabled", SetEnabledAsync).WithTags("registry").RequireAuthorization(Policies.Configure);
    }

    private static async Task<Results<Ok<Page<CameraView>>, ProblemHttpResult>> ListCamerasAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CameraRuntimes runtimes, string? area,
        string? site, string? health, bool? retired, string? after, int? limit, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var take = limit ?? 500;
        if (take is < 1 or > 5000) return ApiProblems.BadRequest("limit must be between 1 and 5000");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Cameras.AsNoTracking();
        if (user.Areas is not null) q = q.Where(c => user.Areas.Contains(c.AreaId));
        if (area is not null) q = q.Where(c => c.AreaId == area);
        if (site is not null) q = q.Where(c => c.SiteId == site);
        if (health is not null) q = q.Where(c => c.Health == health);
        if (retired is not true) q = q.Where(c => c.RetiredAt == null);
        // Keyset paging by id: 290,000 cameras page as fast at the end as at the start.
        if (after is not null) q = q.Where(c => string.Compare(c.Id, after) > 0);
        var rows = await q.OrderBy(c => c.Id).Take(take + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > take)
        {
            rows.RemoveAt(take);
            next = rows[^1].Id;
        }

        return TypedResults.Ok(new Page<CameraView>(rows.Select(c => CameraView.From(c).WithLoad(runtimes)).ToList(), next));
    }

    private static async Task<Results<Ok<CameraView>, ProblemHttpResult>> SetEnabledAsync(string id, CameraEnabled body, ClaimsPrincipal p,
        IDbContextFactory<CivicLensDb> dbs, CameraRegistry registry, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var area = await db.Cameras.AsNoTracking().Where(x => x.Id == id).Select(x => x.AreaId).FirstOrDefaultAsync(ct);
            if (area is null || !user.Sees(area)) return ApiProblems.NotFound("camera");
        }

        return CameraEndpoints.Answer(await registry.SetEnabledAsync(id, body.Enabled, user.Name, ct), ok: c => TypedResults.Ok(CameraView.From(c)));
    }
}
