using System.Security.Claims;
using CivicLens.Reports.Cases;
using CivicLens.Reports.Routing;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Cases;
using CivicLens.Server.Live;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

public sealed record CaseChangeView(DateTimeOffset At, string Actor, string Change);

public sealed record CaseView(long Id, string Title, string Category, string State, string Department, string Area, string? Site, string? Assignee,
    DateTimeOffset OpenedAt, DateTimeOffset? DueAt, DateTimeOffset? ClosedAt, int Version, IReadOnlyList<CaseChangeView>? History = null,
    IReadOnlyList<EventMessage>? Events = null)
{
    public double? Latitude { get; init; }

    public double? Longitude { get; init; }

    public DateTimeOffset? AcknowledgeDueAt { get; init; }

    /// <summary>The SLA breached now, if any: <c>acknowledge</c> or <c>fix</c>.</summary>
    public string? Breach { get; init; }

    public string? RouteReason { get; init; }

    /// <summary>Camera verification of a fix: <c>awaiting-camera</c>, <c>confirmed</c>, or null.</summary>
    public string? Verification { get; init; }

    public long? MergedInto { get; init; }

    public IReadOnlyList<Reports.ReportView>? Reports { get; init; }

    /// <summary>The legal holds in force on the case, its events or reports (detail only): "held".</summary>
    public IReadOnlyList<Holds.HoldBadge>? Holds { get; init; }

    /// <summary>Other cameras' views of the case's events (see <see cref="EventViews"/>), each naming its event.</summary>
    public IReadOnlyList<EventView>? Views { get; init; }
}

public sealed record CaseFromEvent(string? Title, string? Department);

public sealed record CaseTransition(string State, int Version, string? Note);

public sealed record CaseAssignment(string? UserName, int Version);

/// <summary>Cases: open from an event, move through their states, assign; every change lands in the case history and the audit log.</summary>
public static class CaseEndpoints
{
    public static void MapCases(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/cases").WithTags("cases");
        g.MapGet("/", ListAsync).RequireAuthorization(Policies.ReadCases);
        g.MapGet("/{id:long}", GetAsync).RequireAuthorization(Policies.ReadCases);
        g.MapPost("/{id:long}/transition", TransitionAsync).RequireAuthorization(Policies.WorkCases).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPost("/{id:long}/assign", AssignAsync).RequireAuthorization(Policies.WorkCases).ProducesProblem(StatusCodes.Status409Conflict);
        app.MapPost("/api/events/{id:guid}/case", OpenFromEventAsync).WithTags("cases").RequireAuthorization(Policies.WorkCases);
    }

    internal static IQueryable<CaseRecord> InScope(this IQueryable<CaseRecord> q, CurrentUser user) =>
        user.Areas is null ? q : q.Where(c => user.Areas.Contains(c.AreaId));

    /// <summary>A case as the API shows it; <paramref name="now"/> judges its SLA breach, so every answer and push carries one.</summary>
    public static CaseView View(CaseRecord c, string? assignee, DateTimeOffset now, IReadOnlyList<CaseChangeView>? history = null, IReadOnlyList<EventMessage>? events = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        DateTimeOffset? due = c.DueAt is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null;
        DateTimeOffset? ackDue = c.AcknowledgeDueAt is { } a ? DateTimeOffset.FromUnixTimeMilliseconds(a) : null;
        return new(c.Id, c.Title, c.Category, c.State, c.DepartmentId, c.AreaId, c.SiteId, assignee, DateTimeOffset.FromUnixTimeMilliseconds(c.OpenedAt),
            due, c.ClosedAt is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : null, c.Version, history, events)
        {
            Latitude = c.Latitude,
            Longitude = c.Longitude,
            AcknowledgeDueAt = ackDue,
            Breach = Sla.Breach(c.State, now, ackDue, due),
            RouteReason = c.RouteReason,
            Verification = c.Verification,
            MergedInto = c.MergedInto,
        };
    }

    private static async Task<Results<Ok<Page<CaseView>>, ProblemHttpResult>> ListAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, TimeProvider time, string? state,
        string? department, string? area, int? limit, string? cursor, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var take = limit ?? TimeCursor.DefaultLimit;
        if (take is < 1 or > TimeCursor.MaxLimit) return ApiProblems.BadRequest($"limit must be between 1 and {TimeCursor.MaxLimit}");
        if (!TimeCursor.TryDecode(cursor, out var at, out var skip)) return ApiProblems.BadRequest("cursor is not one this server issued");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Cases.AsNoTracking().InScope(user);
        if (state is not null) q = q.Where(c => c.State == state);
        if (department is not null) q = q.Where(c => c.DepartmentId == department);
        if (area is not null) q = q.Where(c => c.AreaId == area);
        if (at != long.MaxValue) q = q.Where(c => c.OpenedAt <= at);
        var rows = await q.OrderByDescending(c => c.OpenedAt).ThenByDescending(c => c.Id).Skip(skip).Take(take + 1).ToListAsync(ct);
        var next = TimeCursor.Next(rows, take, c => c.OpenedAt, at, skip);
        var names = await AssigneesAsync(db, rows, ct);
        return TypedResults.Ok(new Page<CaseView>(rows.Select(c => View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null, time.GetUtcNow())).ToList(), next));
    }

    private static async Task<Dictionary<long, string>> AssigneesAsync(CivicLensDb db, List<CaseRecord> rows, CancellationToken ct)
    {
        var ids = rows.Where(c => c.AssigneeId is not null).Select(c => c.AssigneeId!.Value).Distinct().ToList();
        return await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserName, ct);
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> GetAsync(long id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, Auditor audit,
        TimeProvider time, Hosting.ServerOptions options, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cases.AsNoTracking().Include(x => x.History).InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null) return ApiProblems.NotFound("case");
        var events = await db.Events.AsNoTracking().Where(e => e.CaseId == id).OrderBy(e => e.At).Take(200).ToListAsync(ct);
        var reports = await db.Reports.AsNoTracking().Include(r => r.Photos).Where(r => r.CaseId == id).OrderBy(r => r.SubmittedAt).Take(200).ToListAsync(ct);
        var names = await AssigneesAsync(db, [c], ct);
        await audit.RecordAsync("case.view", "ok", "case:" + id);
        return TypedResults.Ok(View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null, time.GetUtcNow(),
            c.History.OrderBy(h => h.At).ThenBy(h => h.Id).Select(h => new CaseChangeView(DateTimeOffset.FromUnixTimeMilliseconds(h.At), h.Actor, h.Change)).ToList(),
            events.Select(EventMessage.From).ToList()) with
        {
            Reports = reports.Select(Reports.ReportView.From).ToList(),
            Views = await EventViews.ForEventsAsync(db, events.ConvertAll(e => e.Id), options.SnapshotDirectory, ct),
            Holds = await Holds.LegalHoldService.OnCaseAsync(db, id, time.GetUtcNow(), ct),
        });
    }

    /// <summary>Turns an event into a case, routed by the same category x area rules as field reports (or to the department the operator names).</summary>
    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> OpenFromEventAsync(Guid id, CaseFromEvent body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        AuditLog audit, LiveNotifier live, TimeProvider time, CaseDesk desk, CivicLensConfig config, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var e = await db.Events.InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return ApiProblems.NotFound("event");
        if (e.CaseId is not null) return ApiProblems.Conflict($"the event is already in case {e.CaseId}");
        var now = time.GetUtcNow();
        RouteDecision route;
        if (body.Department is { } named)
        {
            if (!await db.Departments.AnyAsync(d => d.Id == named, ct)) return ApiProblems.BadRequest($"unknown department '{named}'");
            route = new RouteDecision(named, named, desk.Router.EscalationOf(named), $"chosen by {user.Name}");
        }
        else
        {
            try
            {
                route = desk.Router.Route(e.Category, e.AreaId, now);
            }
            catch (RoutingException ex)
            {
                return ApiProblems.BadRequest(ex.Message + "; name a department");
            }
        }

        var title = string.IsNullOrWhiteSpace(body.Title) ? $"{desk.CategoryOrDefault(e.Category).Name}: {e.Kind} at {e.CameraId}" : body.Title.Trim();
        if (title.Length > 200) return ApiProblems.BadRequest("title is at most 200 characters");
        var place = await db.Cameras.AsNoTracking().Where(x => x.Id == e.CameraId && (x.Latitude != 0 || x.Longitude != 0))
            .Select(x => new { x.Latitude, x.Longitude }).FirstOrDefaultAsync(ct);
        var c = desk.NewCase(title, e.Category, e.AreaId, e.SiteId, place?.Latitude, place?.Longitude, now, route, user.Name, $"event {e.Id}");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Cases.Add(c);
        await db.SaveChangesAsync(ct);
        e.CaseId = c.Id;
        e.State = "cased";
        await desk.SuggestDuplicatesAsync(db, c, ct);
        desk.Notify(db, c, NoticeKinds.Opened, now, route.Reason);
        await db.SaveChangesAsync(ct);
        // In the case's own transaction: no case without its audit record.
        var audited = await audit.AppendInAsync(db, new AuditEntry(user.Name, "case.open", "ok", "case:" + c.Id, $"from event {e.Id}"), ct);
        await tx.CommitAsync(ct);
        audit.Anchor(audited);
        var view = View(c, null, now);
        await live.CaseAsync(c.AreaId, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> TransitionAsync(long id, CaseTransition body, ClaimsPrincipal p, CaseService cases,
        IDbContextFactory<CivicLensDb> dbs, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        return await AnswerAsync(await cases.TransitionAsync(id, body.State, body.Version, body.Note, user.Name, user.Areas, ct), dbs, time, ct);
    }

    /// <summary>A command's answer: the case as it is now, or the problem.</summary>
    internal static async Task<Results<Ok<CaseView>, ProblemHttpResult>> AnswerAsync(CaseCommandResult result, IDbContextFactory<CivicLensDb> dbs, TimeProvider time,
        CancellationToken ct)
    {
        if (result.Case is not { } c || result.Problem is not null)
        {
            return result.Status switch
            {
                StatusCodes.Status404NotFound => ApiProblems.NotFound(result.Problem ?? "case"),
                StatusCodes.Status409Conflict => ApiProblems.Conflict(result.Problem ?? "conflict"),
                _ => ApiProblems.BadRequest(result.Problem ?? "bad request"),
            };
        }

        await using var db = await dbs.CreateDbContextAsync(ct);
        var names = await AssigneesAsync(db, [c], ct);
        return TypedResults.Ok(View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null, time.GetUtcNow()));
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> AssignAsync(long id, CaseAssignment body, ClaimsPrincipal p, CaseService cases,
        IDbContextFactory<CivicLensDb> dbs, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        return await AnswerAsync(await cases.AssignAsync(id, body.UserName, body.Version, user.Name, user.Areas, ct), dbs, time, ct);
    }
}

