using System.Globalization;
using System.Security.Claims;
using System.Text;
using CivicLens.Reports.Cases;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Audit;
using CivicLens.Server.Live;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cases;

public sealed record SuggestionView(long Id, long CaseId, long TargetCaseId, string TargetTitle, string TargetState, double Metres, string State);

public sealed record CaseMerge(long Into, int Version);

/// <summary>One line of the service report: a department's handling of one category over a period.</summary>
public sealed record ServiceFigures(string Department, string Category, int Cases, int FromReports, int FromEvents, int Acknowledged, double? MedianMinutesToAcknowledge,
    int Fixed, double? MedianHoursToFix, int AcknowledgeBreaches, int FixBreaches, int Escalated, int Open);

/// <summary>Duplicate suggestions and merging, and the per-department service report (JSON or CSV).</summary>
public static class CaseDeskEndpoints
{
    public static void MapCaseDesk(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/cases").WithTags("cases");
        g.MapGet("/{id:long}/suggestions", SuggestionsAsync).RequireAuthorization(Policies.ReadCases);
        g.MapPost("/{id:long}/merge", MergeAsync).RequireAuthorization(Policies.WorkCases).ProducesProblem(StatusCodes.Status409Conflict);
        g.MapPost("/{id:long}/suggestions/{suggestionId:long}/reject", RejectAsync).RequireAuthorization(Policies.WorkCases);
        app.MapGet("/api/service-report", ServiceReportAsync).WithTags("reports").RequireAuthorization(Policies.ReadCases)
            .Produces<IReadOnlyList<ServiceFigures>>().Produces(StatusCodes.Status200OK, contentType: "text/csv");
    }

    private static async Task<Results<Ok<List<SuggestionView>>, ProblemHttpResult>> SuggestionsAsync(long id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (!await db.Cases.InScope(user).AnyAsync(c => c.Id == id, ct)) return ApiProblems.NotFound("case");
        var rows = await db.CaseSuggestions.AsNoTracking().Where(s => s.CaseId == id || s.TargetCaseId == id).OrderBy(s => s.Metres).Take(50).ToListAsync(ct);
        var ids = rows.Select(r => r.TargetCaseId).Concat(rows.Select(r => r.CaseId)).Distinct().ToList();
        var cases = await db.Cases.AsNoTracking().InScope(user).Where(c => ids.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        return TypedResults.Ok(rows.Where(r => cases.ContainsKey(r.TargetCaseId) && cases.ContainsKey(r.CaseId))
            .Select(r => new SuggestionView(r.Id, r.CaseId, r.TargetCaseId, cases[r.TargetCaseId].Title, cases[r.TargetCaseId].State, r.Metres, r.State)).ToList());
    }

    /// <summary>Merges case <paramref name="id"/> into another: its reports and events move, it closes pointing at the other; reporters follow the survivor.</summary>
    private static async Task<Results<Ok<CaseView>, ProblemHttpResult>> MergeAsync(long id, CaseMerge body, ClaimsPrincipal p, CaseService cases,
        IDbContextFactory<CivicLensDb> dbs, TimeProvider time, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        return await CaseEndpoints.AnswerAsync(await cases.MergeAsync(id, body.Into, body.Version, user.Name, user.Areas, ct), dbs, time, ct);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RejectAsync(long id, long suggestionId, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (!await db.Cases.InScope(user).AnyAsync(c => c.Id == id, ct)) return ApiProblems.NotFound("case");
        var s = await db.CaseSuggestions.FirstOrDefaultAsync(x => x.Id == suggestionId && (x.CaseId == id || x.TargetCaseId == id), ct);
        if (s is null) return ApiProblems.NotFound("suggestion");
        if (s.State == "merged") return ApiProblems.Conflict("the cases were already merged on this suggestion");
        s.State = "rejected";
        s.DecidedBy = user.Name;
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync("case.suggestion.reject", "ok", "case:" + id, $"not a duplicate of case {s.TargetCaseId}");
        return TypedResults.NoContent();
    }

    /// <summary>Per department and category, for cases opened in [from, to): volumes, time to acknowledge and to fix, SLA breaches.</summary>
    private static async Task<IResult> ServiceReportAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, TimeProvider time, DateTimeOffset? from, DateTimeOffset? to,
        string? format, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var now = time.GetUtcNow();
        var end = to ?? now;
        var start = from ?? end.AddDays(-30);
        if (start >= end) return ApiProblems.BadRequest("from must be before to");
        if (end - start > TimeSpan.FromDays(366)) return ApiProblems.BadRequest("the period is at most 366 days");
        if (format is not (null or "json" or "csv")) return ApiProblems.BadRequest("format is json or csv");
        var (s, e) = (start.ToUnixTimeMilliseconds(), end.ToUnixTimeMilliseconds());
        await using var db = await dbs.CreateDbContextAsync(ct);
        var cases = await db.Cases.AsNoTracking().InScope(user).Where(c => c.OpenedAt >= s && c.OpenedAt < e && c.MergedInto == null)
            .Select(c => new { c.Id, c.DepartmentId, c.Category, c.State, c.OpenedAt, c.AcknowledgedAt, c.AcknowledgeDueAt, c.FixedAt, c.DueAt, c.EscalatedAt })
            .ToListAsync(ct);
        var ids = cases.Select(c => c.Id).ToList();
        var withReports = (await db.Reports.AsNoTracking().Where(r => r.CaseId != null && ids.Contains(r.CaseId.Value)).Select(r => r.CaseId!.Value).Distinct().ToListAsync(ct)).ToHashSet();
        var nowMs = now.ToUnixTimeMilliseconds();
        var rows = cases.GroupBy(c => (c.DepartmentId, c.Category)).OrderBy(g => g.Key.DepartmentId).ThenBy(g => g.Key.Category).Select(g =>
        {
            var list = g.ToList();
            var acked = list.Where(c => c.AcknowledgedAt is not null).Select(c => (c.AcknowledgedAt!.Value - c.OpenedAt) / 60_000.0).ToList();
            var fixedHours = list.Where(c => c.FixedAt is not null).Select(c => (c.FixedAt!.Value - c.OpenedAt) / 3_600_000.0).ToList();
            return new ServiceFigures(g.Key.DepartmentId, g.Key.Category, list.Count, list.Count(c => withReports.Contains(c.Id)), list.Count(c => !withReports.Contains(c.Id)),
                acked.Count, Median(acked), fixedHours.Count, Median(fixedHours),
                list.Count(c => c.AcknowledgeDueAt is { } a && (c.AcknowledgedAt ?? nowMs) > a),
                list.Count(c => c.DueAt is { } d && (c.FixedAt ?? (c.State == CaseStates.Closed ? d : nowMs)) > d),
                list.Count(c => c.EscalatedAt is not null),
                list.Count(c => c.State is not (CaseStates.Fixed or CaseStates.Closed)));
        }).ToList();
        if (format != "csv") return TypedResults.Ok(rows);
        var csv = new StringBuilder("department,category,cases,from_reports,from_events,acknowledged,median_minutes_to_acknowledge,fixed,median_hours_to_fix,acknowledge_breaches,fix_breaches,escalated,open\n");
        foreach (var r in rows)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{Csv(r.Department)},{Csv(r.Category)},{r.Cases},{r.FromReports},{r.FromEvents},{r.Acknowledged},{Num(r.MedianMinutesToAcknowledge)},{r.Fixed},{Num(r.MedianHoursToFix)},{r.AcknowledgeBreaches},{r.FixBreaches},{r.Escalated},{r.Open}\n");
        }

        return Results.File(Encoding.UTF8.GetBytes(csv.ToString()), "text/csv; charset=utf-8", $"service-report-{start:yyyyMMdd}-{end:yyyyMMdd}.csv");
    }

    private static double? Median(List<double> values)
    {
        if (values.Count == 0) return null;
        values.Sort();
        var m = values.Count / 2;
        return Math.Round(values.Count % 2 == 1 ? values[m] : (values[m - 1] + values[m]) / 2, 1);
    }

    private static string Num(double? v) => v?.ToString("0.#", CultureInfo.InvariantCulture) ?? "";

    /// <summary>Ids are configuration names; quoted anyway, and a leading formula character neutralised for spreadsheets.</summary>
    private static string Csv(string v) => "\"" + (v.Length > 0 && "=+-@".Contains(v[0], StringComparison.Ordinal) ? "'" + v : v).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
