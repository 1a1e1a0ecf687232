using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Live;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

public sealed record CaseChangeView(DateTimeOffset At, string Actor, string Change);

public sealed record CaseView(long Id, string Title, string Category, string State, string Department, string Area, string? Site, string? Assignee,
    DateTimeOffset OpenedAt, DateTimeOffset? DueAt, DateTimeOffset? ClosedAt, int Version, IReadOnlyList<CaseChangeView>? History = null,
    IReadOnlyList<EventMessage>? Events = null);

public sealed record CaseFromEvent(string? Title, string? Department);

public sealed record CaseTransition(string State, int Version, string? Note);

public sealed record CaseAssignment(string? UserName, int Version);

/// <summary>Cases: open from an event, move through their states, assign; every change lands in the case history and the audit log.</summary>
public static class CaseEndpoints
{
    /// <summary>The allowed moves; a fixed case may be reopened, a closed one is final.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Transitions = new Dictionary<string, string[]>
    {
        ["open"] = ["acknowledged", "in_progress", "closed"],
        ["acknowledged"] = ["in_progress", "fixed", "closed"],
        ["in_progress"] = ["fixed", "closed"],
        ["fixed"] = ["closed", "in_progress"],
        ["closed"] = [],
    };

    /// <summary>Time to fix when the category sets none (issue 6 brings SLAs per category).</summary>
    public static readonly TimeSpan DefaultSla = TimeSpan.FromHours(72);

    public static void MapCases(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/cases").WithTags("cases");
        g.MapGet("/", ListAsync).RequireAuthorization(Policies.ReadCases);
        g.MapGet("/{id:long}", GetAsync).RequireAuthorization(Policies.ReadCases);
        g.MapPost("/{id:long}/transition", TransitionAsync).RequireAuthorization(Policies.WorkCases).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPost("/{id:long}/assign", AssignAsync).RequireAuthorization(Policies.WorkCases).ProducesProblem(StatusCodes.Status409Conflict);
        app.MapPost("/api/events/{id:guid}/case", OpenFromEventAsync).WithTags("cases").RequireAuthorization(Policies.WorkCases);
    }

    private static IQueryable<CaseRecord> InScope(this IQueryable<CaseRecord> q, CurrentUser user) =>
        user.Areas is null ? q : q.Where(c => user.Areas.Contains(c.AreaId));

    private static CaseView View(CaseRecord c, string? assignee, IReadOnlyList<CaseChangeView>? history = null, IReadOnlyList<EventMessage>? events = null) =>
        new(c.Id, c.Title, c.Category, c.State, c.DepartmentId, c.AreaId, c.SiteId, assignee, DateTimeOffset.FromUnixTimeMilliseconds(c.OpenedAt),
            c.DueAt is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null, c.ClosedAt is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : null, c.Version,
            history, events);

    private static async Task<Results<Ok<Page<CaseView>>, ProblemHttpResult>> ListAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, string? state,
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
        return TypedResults.Ok(new Page<CaseView>(rows.Select(c => View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null)).ToList(), next));
    }

    private static async Task<Dictionary<long, string>> AssigneesAsync(CivicLensDb db, List<CaseRecord> rows, CancellationToken ct)
    {
        var ids = rows.Where(c => c.AssigneeId is not null).Select(c => c.AssigneeId!.Value).Distinct().ToList();
        return await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserName, ct);
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> GetAsync(long id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cases.AsNoTracking().Include(x => x.History).InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null) return ApiProblems.NotFound("case");
        var events = await db.Events.AsNoTracking().Where(e => e.CaseId == id).OrderBy(e => e.At).Take(200).ToListAsync(ct);
        var names = await AssigneesAsync(db, [c], ct);
        await audit.RecordAsync("case.view", "ok", "case:" + id);
        return TypedResults.Ok(View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null,
            c.History.OrderBy(h => h.At).ThenBy(h => h.Id).Select(h => new CaseChangeView(DateTimeOffset.FromUnixTimeMilliseconds(h.At), h.Actor, h.Change)).ToList(),
            events.Select(EventMessage.From).ToList()));
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> OpenFromEventAsync(Guid id, CaseFromEvent body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, LiveNotifier live, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var e = await db.Events.InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return ApiProblems.NotFound("event");
        if (e.CaseId is not null) return ApiProblems.Conflict($"the event is already in case {e.CaseId}");
        var department = body.Department ?? await db.Cameras.Where(c => c.Id == e.CameraId).Select(c => c.DepartmentId).FirstOrDefaultAsync(ct);
        if (department is null || !await db.Departments.AnyAsync(d => d.Id == department, ct)) return ApiProblems.BadRequest($"unknown department '{department}'");
        var now = time.GetUtcNow();
        var title = string.IsNullOrWhiteSpace(body.Title) ? $"{e.Category}: {e.Kind} at {e.CameraId}" : body.Title.Trim();
        if (title.Length > 200) return ApiProblems.BadRequest("title is at most 200 characters");
        var c = new CaseRecord
        {
            Title = title,
            Category = e.Category,
            DepartmentId = department,
            AreaId = e.AreaId,
            SiteId = e.SiteId,
            OpenedAt = now.ToUnixTimeMilliseconds(),
            DueAt = (now + DefaultSla).ToUnixTimeMilliseconds(),
        };
        c.History.Add(new CaseChange { At = c.OpenedAt, Actor = user.Name, Change = $"opened from event {e.Id}" });
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Cases.Add(c);
        await db.SaveChangesAsync(ct);
        e.CaseId = c.Id;
        e.State = "cased";
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        await audit.RecordAsync("case.open", "ok", "case:" + c.Id, $"from event {e.Id}");
        var view = View(c, null);
        await live.CaseAsync(c.AreaId, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> TransitionAsync(long id, CaseTransition body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, LiveNotifier live, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cases.InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null) return ApiProblems.NotFound("case");
        if (!Transitions.TryGetValue(body.State ?? "", out _)) return ApiProblems.BadRequest($"unknown state '{body.State}' (states: {string.Join(", ", Transitions.Keys)})");
        if (c.Version != body.Version) return ApiProblems.Conflict($"the case changed meanwhile (version {c.Version}); reload it");
        if (!Transitions[c.State].Contains(body.State)) return ApiProblems.Conflict($"a case cannot go from {c.State} to {body.State}");
        if ((body.Note?.Length ?? 0) > 2000) return ApiProblems.BadRequest("note is at most 2000 characters");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var from = c.State;
        c.State = body.State!;
        c.Version++;
        c.ClosedAt = body.State == "closed" ? now : null;
        db.CaseChanges.Add(new CaseChange { CaseId = c.Id, At = now, Actor = user.Name, Change = $"{from} -> {body.State}" + (string.IsNullOrWhiteSpace(body.Note) ? "" : ": " + body.Note.Trim()) });
        return await CommitAsync(db, c, "case.transition", $"{from} -> {body.State}", audit, live, ct);
    }

    /// <summary>Saves a case change (refused if someone else saved first), audits it and tells the live feed.</summary>
    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> CommitAsync(CivicLensDb db, CaseRecord c, string action, string detail, Auditor audit,
        LiveNotifier live, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return ApiProblems.Conflict("the case changed meanwhile; reload it");
        }

        await audit.RecordAsync(action, "ok", "case:" + c.Id, detail);
        var names = await AssigneesAsync(db, [c], ct);
        var view = View(c, c.AssigneeId is { } a ? names.GetValueOrDefault(a) : null);
        await live.CaseAsync(c.AreaId, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> AssignAsync(long id, CaseAssignment body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, LiveNotifier live, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var c = await db.Cases.InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null) return ApiProblems.NotFound("case");
        if (c.Version != body.Version) return ApiProblems.Conflict($"the case changed meanwhile (version {c.Version}); reload it");
        User? assignee = null;
        if (body.UserName is not null)
        {
            assignee = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.UserName == body.UserName && !u.Disabled, ct);
            if (assignee is null || assignee.Role != Roles.Operator) return ApiProblems.BadRequest($"'{body.UserName}' is not an active operator");
        }

        c.AssigneeId = assignee?.Id;
        c.Version++;
        db.CaseChanges.Add(new CaseChange { CaseId = c.Id, At = time.GetUtcNow().ToUnixTimeMilliseconds(), Actor = user.Name, Change = assignee is null ? "unassigned" : $"assigned to {assignee.UserName}" });
        return await CommitAsync(db, c, "case.assign", assignee?.UserName ?? "nobody", audit, live, ct);
    }
}
