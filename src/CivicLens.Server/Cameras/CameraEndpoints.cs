using System.Security.Claims;
using System.Text;
using CivicLens.Domain.Cameras;
using CivicLens.Pipeline;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cameras;

/// <summary>A new camera: its id and everything <see cref="CameraInput"/> holds.</summary>
public sealed record CameraCreate
{
    public required string Id { get; init; }

    public required CameraInput Camera { get; init; }
}

public sealed record CameraRetire(string? Reason);

/// <summary>A camera's analytics definition as an admin edits it, with the version to name when saving.</summary>
public sealed record CameraDefinitionView(string Id, string? Definition, int Version);

/// <summary>How many cameras are in each state, in the caller's areas (or one area).</summary>
public sealed record CameraHealthCounts(int Total, IReadOnlyDictionary<string, int> States, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>>? Areas);

public sealed record CameraHealthChangeView(string State, string? Reason, DateTimeOffset At);

/// <summary>A camera's health now and how it changed: state, last frame, analysed frames per second, dropped frames, and the history.</summary>
public sealed record CameraHealthView(string Id, string State, DateTimeOffset? Since, string? Reason, CameraLoadView? Load, IReadOnlyList<CameraHealthChangeView> History);

/// <summary>A problem with one field of a change or one row of an import.</summary>
public sealed record RegistryProblemView(string Field, string Message, int? Row);

public sealed record ImportResult(int Created, int Updated, int Unchanged, bool DryRun);

/// <summary>The registry's lifecycle: create, edit, enable and disable (see <see cref="RegistryEndpoints"/>), retire, bulk import; and health at district scale.</summary>
public static class CameraEndpoints
{
    public static void MapCameraLifecycle(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/cameras").WithTags("registry").RequireAuthorization(Policies.Configure);
        admin.MapPost("/", CreateAsync).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPut("/{id}", UpdateAsync).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/{id}/retire", RetireAsync).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/{id}/definition", DefinitionAsync).ProducesProblem(StatusCodes.Status404NotFound);
        // The body is text/csv or application/geo+json; checked by the handler, after authorization.
        admin.MapPost("/import", ImportAsync).ProducesProblem(StatusCodes.Status400BadRequest);
        var read = app.MapGroup("/api/camera-health").WithTags("registry").RequireAuthorization(Policies.ReadRegistry);
        read.MapGet("/counts", CountsAsync).ProducesProblem(StatusCodes.Status400BadRequest);
        read.MapGet("/{id}", HealthAsync).ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>A registry outcome as an HTTP answer: problems name their field (and row), never echo a stream address.</summary>
    internal static Results<T, ProblemHttpResult> Answer<T>(RegistryResult result, Func<Camera, T> ok) where T : IResult
    {
        if (result.NotFound) return ApiProblems.NotFound("camera");
        if (result.Ok) return ok(result.Camera!);
        var problems = result.Problems.Select(p => new RegistryProblemView(p.Field, p.Message, p.Row)).ToList();
        var detail = problems.Count == 0 ? "the change was refused" : string.Join("; ", problems.Take(5).Select(p => $"{(p.Row is { } r ? $"row {r}, " : "")}{p.Field}: {p.Message}"))
            + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : "");
        return TypedResults.Problem(title: result.Conflict ? "Conflict" : "Invalid camera", detail: detail,
            statusCode: result.Conflict ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest,
            extensions: new Dictionary<string, object?> { ["problems"] = problems });
    }

    private static async Task<Results<Created<CameraView>, ProblemHttpResult>> CreateAsync(CameraCreate body, ClaimsPrincipal p, CameraRegistry registry, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        // Where the camera lands (its area, else its site's, else the district) must be in the admin's scope.
        if (!user.Sees(registry.AreaOf(body.Camera))) return ApiProblems.NotFound("area");
        return Answer(await registry.CreateAsync(body.Id, body.Camera, user.Name, ct), c => TypedResults.Created($"/api/cameras/{Uri.EscapeDataString(c.Id)}", CameraView.From(c)));
    }

    private static async Task<Results<Ok<CameraView>, ProblemHttpResult>> UpdateAsync(string id, CameraInput body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRegistry registry, CameraRuntimes runtimes, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        if (await AreaOfAsync(dbs, id, ct) is not { } area || !user.Sees(area)) return ApiProblems.NotFound("camera");
        if (!user.Sees(registry.AreaOf(body))) return ApiProblems.NotFound("area");
        return Answer(await registry.UpdateAsync(id, body, user.Name, ct), c => TypedResults.Ok(CameraView.From(c).WithLoad(runtimes)));
    }

    private static async Task<Results<Ok<CameraView>, ProblemHttpResult>> RetireAsync(string id, CameraRetire body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRegistry registry, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        if (await AreaOfAsync(dbs, id, ct) is not { } area || !user.Sees(area)) return ApiProblems.NotFound("camera");
        if (body.Reason is { Length: > 500 }) return ApiProblems.BadRequest("reason is at most 500 characters");
        return Answer(await registry.RetireAsync(id, body.Reason, user.Name, ct), c => TypedResults.Ok(CameraView.From(c)));
    }

    private static async Task<Results<Ok<CameraDefinitionView>, ProblemHttpResult>> DefinitionAsync(string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cameras.AsNoTracking().Where(x => x.Id == id).Select(x => new { x.AreaId, x.Definition, x.Version }).FirstOrDefaultAsync(ct);
        return c is null || !user.Sees(c.AreaId) ? ApiProblems.NotFound("camera") : TypedResults.Ok(new CameraDefinitionView(id, c.Definition, c.Version));
    }

    /// <summary>
    /// Bulk import (CSV or GeoJSON; see docs/configuration/cameras-zones-lines.md): every problem is reported by row and
    /// field, and nothing is written unless every row is good. <c>dryRun=true</c> checks without writing.
    /// </summary>
    private static async Task<Results<Ok<ImportResult>, ProblemHttpResult>> ImportAsync(HttpRequest request, bool? dryRun, ClaimsPrincipal p, CameraImporter importer,
        CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var type = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        CameraImporter.Format format;
        switch (type)
        {
            case "text/csv":
                format = CameraImporter.Format.Csv;
                break;
            case "application/geo+json" or "application/json":
                format = CameraImporter.Format.GeoJson;
                break;
            default:
                return ApiProblems.BadRequest("send the cameras as text/csv or application/geo+json");
        }

        var result = await importer.ImportAsync(request.Body, format, dryRun ?? false, user.Name, ct, user.Areas);
        if (result.Problems.Count > 0) return Answer<Ok<ImportResult>>(RegistryResult.Invalid([.. result.Problems]), _ => null!);
        return TypedResults.Ok(new ImportResult(result.Created, result.Updated, result.Unchanged, dryRun ?? false));
    }

    /// <summary>Cameras per state in the caller's areas; <c>area</c> narrows to one, <c>by=area</c> also splits by area.</summary>
    private static async Task<Results<Ok<CameraHealthCounts>, ProblemHttpResult>> CountsAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, string? area, string? by,
        CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        if (by is not (null or "state" or "area")) return ApiProblems.BadRequest("by is state or area");
        if (area is not null && !user.Sees(area)) return ApiProblems.NotFound("area");
        await using var db = await dbs.CreateDbContextAsync(ct);
        // Read from the counts the database's triggers keep (a few rows per area), never by scanning the registry.
        var q = db.CameraStateTotals();
        if (user.Areas is not null) q = q.Where(c => user.Areas.Contains(c.AreaId));
        if (area is not null) q = q.Where(c => c.AreaId == area);
        var rows = (await q.ToListAsync(ct)).Where(c => c.Cameras > 0).Select(c => new { c.AreaId, Health = c.State, Count = c.Cameras }).ToList();
        var states = CameraStates.All.ToDictionary(s => s, s => rows.Where(r => r.Health == s).Sum(r => r.Count), StringComparer.Ordinal);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>>? areas = by == "area"
            ? rows.GroupBy(r => r.AreaId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, int>)g.ToDictionary(r => r.Health, r => r.Count, StringComparer.Ordinal), StringComparer.Ordinal)
            : null;
        return TypedResults.Ok(new CameraHealthCounts(rows.Sum(r => r.Count), states, areas));
    }

    private static async Task<Results<Ok<CameraHealthView>, ProblemHttpResult>> HealthAsync(string id, int? limit, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRuntimes runtimes, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var take = limit ?? 100;
        if (take is < 1 or > 1000) return ApiProblems.BadRequest("limit must be between 1 and 1000");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cameras.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null || !user.Sees(c.AreaId)) return ApiProblems.NotFound("camera");
        var history = await db.CameraHealthChanges.AsNoTracking().Where(h => h.CameraId == id).OrderByDescending(h => h.At).ThenByDescending(h => h.Id).Take(take)
            .Select(h => new CameraHealthChangeView(h.State, h.Reason, DateTimeOffset.FromUnixTimeMilliseconds(h.At))).ToListAsync(ct);
        var view = CameraView.From(c).WithLoad(runtimes);
        return TypedResults.Ok(new CameraHealthView(id, c.Health, view.HealthSince, c.HealthReason, view.Load, history));
    }

    private static async Task<string?> AreaOfAsync(IDbContextFactory<CivicLensDb> dbs, string id, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Cameras.AsNoTracking().Where(x => x.Id == id).Select(x => x.AreaId).FirstOrDefaultAsync(ct);
    }
}
