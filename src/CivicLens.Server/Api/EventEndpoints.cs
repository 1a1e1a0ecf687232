using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Hosting;
using CivicLens.Server.Live;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>Filters of the event list; times are ISO 8601.</summary>
public sealed record EventQuery(DateTimeOffset? From, DateTimeOffset? To, string? Kind, string? Category, string? Camera, string? Site, string? Area, string? State, int? Limit, string? Cursor);

/// <summary>Events: list with filters and paging, one event with other cameras' views, its redacted snapshot and views, and the operator's triage.</summary>
public static class EventEndpoints
{
    public static void MapEvents(this IEndpointRouteBuilder app)
    {
        var events = app.MapGroup("/api/events").WithTags("events");
        events.MapGet("/", ListAsync).RequireAuthorization(Policies.ReadEvents).ProducesProblem(StatusCodes.Status400BadRequest);
        events.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Policies.ReadEvents);
        events.MapGet("/{id:guid}/snapshot", SnapshotAsync).RequireAuthorization(Policies.ReadEvents)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg").ProducesProblem(StatusCodes.Status404NotFound);
        events.MapGet("/{id:guid}/views/{viewId:long}", ViewAsync).RequireAuthorization(Policies.ReadEvents)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg").ProducesProblem(StatusCodes.Status404NotFound);
        events.MapPost("/{id:guid}/acknowledge", (Guid id, HttpContext ctx, IDbContextFactory<CivicLensDb> dbs, Auditor audit, LiveNotifier live, CancellationToken ct) =>
            SetStateAsync(id, "acknowledged", ctx, dbs, audit, live, ct)).RequireAuthorization(Policies.WorkCases);
        events.MapPost("/{id:guid}/dismiss", (Guid id, HttpContext ctx, IDbContextFactory<CivicLensDb> dbs, Auditor audit, LiveNotifier live, CancellationToken ct) =>
            SetStateAsync(id, "dismissed", ctx, dbs, audit, live, ct)).RequireAuthorization(Policies.WorkCases);
    }

    internal static IQueryable<EventRecord> InScope(this IQueryable<EventRecord> q, CurrentUser user) =>
        user.Areas is null ? q : q.Where(e => user.Areas.Contains(e.AreaId));

    private static async Task<Results<Ok<Page<EventMessage>>, ProblemHttpResult>> ListAsync([AsParameters] EventQuery query, ClaimsPrincipal principal,
        IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(principal)!;
        var limit = query.Limit ?? TimeCursor.DefaultLimit;
        if (limit is < 1 or > TimeCursor.MaxLimit) return ApiProblems.BadRequest($"limit must be between 1 and {TimeCursor.MaxLimit}");
        if (!TimeCursor.TryDecode(query.Cursor, out var cursorAt, out var skip)) return ApiProblems.BadRequest("cursor is not one this server issued");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Events.AsNoTracking().InScope(user);
        if (query.From is { } from) q = q.Where(e => e.At >= from.ToUnixTimeMilliseconds());
        if (query.To is { } to) q = q.Where(e => e.At < to.ToUnixTimeMilliseconds());
        if (query.Kind is { } kind) q = q.Where(e => e.Kind == kind);
        if (query.Category is { } category) q = q.Where(e => e.Category == category);
        if (query.Camera is { } camera) q = q.Where(e => e.CameraId == camera);
        if (query.Site is { } site) q = q.Where(e => e.SiteId == site);
        if (query.Area is { } area) q = q.Where(e => e.AreaId == area);
        if (query.State is { } state) q = q.Where(e => e.State == state);
        if (cursorAt != long.MaxValue) q = q.Where(e => e.At <= cursorAt);
        var rows = await q.OrderByDescending(e => e.At).ThenByDescending(e => e.Id).Skip(skip).Take(limit + 1).ToListAsync(ct);
        var next = TimeCursor.Next(rows, limit, e => e.At, cursorAt, skip);
        await audit.RecordAsync("events.list", "ok", detail: $"{rows.Count} events");
        return TypedResults.Ok(new Page<EventMessage>(rows.Select(EventMessage.From).ToList(), next));
    }

    private static async Task<Results<Ok<EventDetail>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal principal, IDbContextFactory<CivicLensDb> dbs,
        ServerOptions options, Auditor audit, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(principal)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var e = await db.Events.AsNoTracking().InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null)
        {
            await audit.RecordAsync("event.view", "not-found", id.ToString());
            return ApiProblems.NotFound("event");
        }

        var views = await EventViews.ForEventsAsync(db, [id], options.SnapshotDirectory, ct);
        await audit.RecordAsync("event.view", "ok", id.ToString());
        return TypedResults.Ok(new EventDetail(EventMessage.From(e), views) { Holds = await Holds.LegalHoldService.OnEventAsync(db, e, time.GetUtcNow(), ct) });
    }

    private static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> SnapshotAsync(Guid id, ClaimsPrincipal principal, IDbContextFactory<CivicLensDb> dbs,
        ServerOptions options, Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(principal)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var snapshot = await db.Events.AsNoTracking().InScope(user).Where(x => x.Id == id).Select(x => x.Snapshot).FirstOrDefaultAsync(ct);
        // Stored names are bare file names written by the server; never let one reach outside the folder.
        var path = snapshot is null ? null : Path.Combine(options.SnapshotDirectory, Path.GetFileName(snapshot));
        if (path is null || !File.Exists(path))
        {
            await audit.RecordAsync("snapshot.view", "not-found", id.ToString());
            return ApiProblems.NotFound("snapshot");
        }

        await audit.RecordAsync("snapshot.view", "ok", id.ToString());
        return TypedResults.PhysicalFile(path, "image/jpeg");
    }

    /// <summary>
    /// Another camera's redacted view of the event: to whoever may see the event's own snapshot, audited the same way
    /// (target <c>{event}/views/{view}</c>). A view whose file its camera's retention removed answers 404, saying so.
    /// </summary>
    private static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> ViewAsync(Guid id, long viewId, ClaimsPrincipal principal,
        IDbContextFactory<CivicLensDb> dbs, ServerOptions options, Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(principal)!;
        var target = $"{id}/views/{viewId}";
        await using var db = await dbs.CreateDbContextAsync(ct);
        var visible = await db.Events.AsNoTracking().InScope(user).AnyAsync(x => x.Id == id, ct);
        var snapshot = visible ? await db.EventEvidence.AsNoTracking().Where(v => v.Id == viewId && v.EventId == id).Select(v => v.Snapshot).FirstOrDefaultAsync(ct) : null;
        var path = snapshot is null ? null : EventViews.PathOf(options.SnapshotDirectory, snapshot);
        if (path is null)
        {
            await audit.RecordAsync("snapshot.view", "not-found", target);
            return ApiProblems.NotFound("view of this event");
        }

        if (!File.Exists(path))
        {
            await audit.RecordAsync("snapshot.view", "not-found", target, "file past its camera's retention");
            return TypedResults.Problem(title: "Not found", detail: "This view is no longer kept: its camera's snapshot retention removed the file.",
                statusCode: StatusCodes.Status404NotFound);
        }

        await audit.RecordAsync("snapshot.view", "ok", target);
        return TypedResults.PhysicalFile(path, "image/jpeg");
    }

    private static async Task<Results<Ok<EventMessage>, ProblemHttpResult>> SetStateAsync(Guid id, string state, HttpContext ctx, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, LiveNotifier live, CancellationToken ct)
    {
        var user = CurrentUser.From(ctx.User)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var e = await db.Events.InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return ApiProblems.NotFound("event");
        if (e.State == "cased") return ApiProblems.Conflict("the event belongs to a case; change the case instead");
        e.State = state;
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync("event." + state, "ok", id.ToString());
        await live.EventsAsync([e]);
        return TypedResults.Ok(EventMessage.From(e));
    }
}
