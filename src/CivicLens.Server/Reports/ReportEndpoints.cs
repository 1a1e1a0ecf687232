using System.Security.Claims;
using System.Text;
using CivicLens.Reports.Cases;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Audit;
using CivicLens.Server.Cases;
using CivicLens.Server.Security;
using CivicLens.Server.Transparency;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Reports;

public sealed record ReportPhotoView(long Id, int Width, int Height, long Length);

public sealed record ReportView(long Id, string Source, string Category, string? Description, double Latitude, double Longitude, string? Address, string Area,
    string? Site, DateTimeOffset SubmittedAt, long? CaseId, IReadOnlyList<string> Flags, IReadOnlyList<ReportPhotoView> Photos, bool HasContact)
{
    public static ReportView From(ReportRecord r) => new(r.Id, r.Source, r.Category, r.Description, r.Latitude, r.Longitude, r.Address, r.AreaId, r.SiteId,
        DateTimeOffset.FromUnixTimeMilliseconds(r.SubmittedAt), r.CaseId, r.Flags?.Split(',') ?? [],
        r.Photos.OrderBy(p => p.Id).Select(p => new ReportPhotoView(p.Id, p.Width, p.Height, p.Length)).ToList(), r.ContactSealed is not null)
    {
        Attributes = District.Categories.CategoryAttributes.ReadStored(r.Attributes),
    };

    /// <summary>The Open311 attribute answers, code to value(s) (several for a multivaluelist); null when none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Attributes { get; init; }

    /// <summary>The legal holds in force on the report or its case (detail only): "held".</summary>
    public IReadOnlyList<Holds.HoldBadge>? Holds { get; init; }
}

/// <summary>The answer to a submission: where to follow it, and anything the reporter should know.</summary>
/// <remarks>A citizen's answer leaves out the internal case and the cases nearby (<c>caseId</c> null, no duplicates).</remarks>
public sealed record ReportSubmitted(long Id, string Token, string StatusUrl, long? CaseId, string Department, string State, bool Replayed,
    IReadOnlyList<string> Warnings, IReadOnlyList<long> PossibleDuplicates);

/// <summary>What anyone holding the token sees: the problem's progress, nothing about who reported it.</summary>
public sealed record PublicReportStatus(string Category, string State, string Status, string Department, string Area, DateTimeOffset SubmittedAt,
    DateTimeOffset UpdatedAt, IReadOnlyList<PublicStatusChange> History);

public sealed record PublicStatusChange(DateTimeOffset At, string Status);

public sealed record PublicArea(string Id, string Name, IReadOnlyList<double[]> Outline);

public sealed record PublicCategory(string Id, string Name, string? Description, string? Group, bool Public);

/// <summary>What the report form needs before anyone logs in: the district's outline and areas, the categories, and whether citizens may report.</summary>
public sealed record PublicDistrict(string Name, IReadOnlyList<double[]> Outline, IReadOnlyList<PublicArea> Areas, IReadOnlyList<PublicCategory> Categories,
    bool PublicReports, string? Tiles)
{
    public static PublicDistrict From(CivicLensConfig config, CaseDesk desk, Hosting.ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(desk);
        ArgumentNullException.ThrowIfNull(options);
        static double[] P(GeoPoint g) => [g.Longitude, g.Latitude];
        return new PublicDistrict(config.District?.Name ?? "District", config.District?.Outline.Select(P).ToList() ?? [],
            config.Areas.Select(a => new PublicArea(a.Id, a.Name, a.Outline.Select(P).ToList())).ToList(),
            desk.Categories.OrderBy(c => c.Group).ThenBy(c => c.Name).Select(c => new PublicCategory(c.Id, c.Name, c.Description, c.Group, c.Public)).ToList(),
            config.Routing.PublicReports, options.TileUrlTemplate);
    }
}

/// <summary>Field reports: staff and (when the city allows) public intake, the reporter's status page, and staff reading.</summary>
public static class ReportEndpoints
{
    public const string PublicLimiter = "public-reports";

    /// <summary>A report's whole request: the photos at their limit plus room for the fields.</summary>
    public static long MaxRequestBytes(long photoBytes) => ReportIntake.MaxPhotos * photoBytes + 256 * 1024;

    /// <summary>The size limit of an endpoint that takes a report with photos (staff, public and Open311 intake).</summary>
    public static IRequestSizeLimitMetadata SizeLimit(long photoBytes) => new RequestSizeLimit(MaxRequestBytes(photoBytes));

    public static void MapReports(this IEndpointRouteBuilder app, long photoBytes)
    {
        var size = SizeLimit(photoBytes);
        app.MapPost("/api/reports", (HttpContext ctx, ReportIntake intake, ClaimsPrincipal p, CancellationToken ct) =>
                SubmitAsync(ctx, intake, new Submitter("staff", CurrentUser.From(p)!.Name), ct))
            .WithTags("reports").RequireAuthorization(Policies.SubmitReports).WithMetadata(size).DisableAntiforgery()
            .Produces<ReportSubmitted>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest);
        app.MapPost("/public/reports", (HttpContext ctx, ReportIntake intake, CivicLensConfig config, CancellationToken ct) =>
                config.Routing.PublicReports
                    ? PublicSubmitAsync(ctx, intake, ct)
                    : Task.FromResult<IResult>(TypedResults.Problem(title: "Not found", detail: "This city takes reports from staff only.", statusCode: StatusCodes.Status404NotFound)))
            .WithTags("reports").AllowAnonymous().RequireRateLimiting(PublicLimiter).WithMetadata(size).DisableAntiforgery()
            .Produces<ReportSubmitted>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest);

        var g = app.MapGroup("/api/reports").WithTags("reports");
        g.MapGet("/", ListAsync).RequireAuthorization(Policies.ReadCases);
        g.MapGet("/{id:long}", GetAsync).RequireAuthorization(Policies.ReadCases);
        g.MapGet("/{id:long}/photos/{photoId:long}", PhotoAsync).RequireAuthorization(Policies.ReadEvents).Produces(StatusCodes.Status200OK, contentType: "image/jpeg");
        g.MapGet("/{id:long}/contact", ContactAsync).RequireAuthorization(Policies.WorkCases);

        app.MapGet("/api/public/reports/{token}", PublicStatusAsync).WithTags("reports").AllowAnonymous();
        app.MapGet("/public/district", (CivicLensConfig config, CaseDesk desk, Hosting.ServerOptions options) => TypedResults.Ok(PublicDistrict.From(config, desk, options)))
            .WithTags("reports").AllowAnonymous();
        app.MapGet("/status/{token}", StatusPageAsync).WithTags("reports").AllowAnonymous().ExcludeFromDescription();
    }

    private sealed class RequestSizeLimit(long bytes) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => bytes;
    }

    private static async Task<IResult> PublicSubmitAsync(HttpContext ctx, ReportIntake intake, CancellationToken ct)
    {
        return await SubmitAsync(ctx, intake, new Submitter("public", null), ct);
    }

    private static async Task<IResult> SubmitAsync(HttpContext ctx, ReportIntake intake, Submitter who, CancellationToken ct)
    {
        var key = ctx.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 200) return ApiProblems.BadRequest("Idempotency-Key is at most 200 characters");
        var idempotencyKey = key.Length == 0 ? null : key;
        try
        {
            // A retry is redacted again before its key is looked up: cheaper than reading the form twice, and rare.
            // A bot fills the hidden field a person never sees; it gets an answer that looks like any refusal, before
            // its photos cost a redaction when the field comes first (as the form sends it), after reading otherwise.
            var form = await ReportFormReader.ReadAsync(ctx.Request, () => intake.Photos, ct, who.Source == "public" ? Honeypot : null);
            if (who.Source == "public") await Honeypot(form.Fields);
            var receipt = await intake.SubmitAsync(form.Draft, form.Photos, who, idempotencyKey, ct);
            var body = Submitted(ctx.Request, receipt, citizen: who.Source == "public");
            return receipt.Replayed ? TypedResults.Ok(body) : TypedResults.Created($"/api/reports/{receipt.Report.Id}", body);
        }
        catch (ReportRejectedException ex)
        {
            return TypedResults.Problem(title: ex.Status switch
            {
                StatusCodes.Status409Conflict => "Conflict",
                StatusCodes.Status413PayloadTooLarge => "Too large",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
                StatusCodes.Status422UnprocessableEntity => "Cannot be handled here",
                StatusCodes.Status503ServiceUnavailable => "Busy",
                _ => "Bad request",
            }, detail: ex.Message, statusCode: ex.Status, extensions: ex.Field is null ? null : new Dictionary<string, object?> { ["field"] = ex.Field });
        }
    }

    private static Task Honeypot(IReadOnlyDictionary<string, string> fields) =>
        fields.TryGetValue("website", out var v) && !string.IsNullOrEmpty(v) ? throw new ReportRejectedException("the report could not be accepted") : Task.CompletedTask;

    private static ReportSubmitted Submitted(HttpRequest request, ReportReceipt r, bool citizen)
    {
        var status = Hosting.PublicAddress.Of(request) + "/status/" + r.Report.Token;
        return new ReportSubmitted(r.Report.Id, r.Report.Token, status, citizen ? null : r.Case.Id, r.Case.DepartmentId, r.Case.State, r.Replayed, r.Warnings,
            citizen ? [] : r.Duplicates.Select(d => d.TargetCaseId).ToList());
    }

    private static IQueryable<ReportRecord> InScope(this IQueryable<ReportRecord> q, CurrentUser user) =>
        user.Areas is null ? q : q.Where(r => user.Areas.Contains(r.AreaId));

    private static async Task<Results<Ok<Page<ReportView>>, ProblemHttpResult>> ListAsync(ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, string? category,
        long? caseId, int? limit, string? cursor, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        var take = limit ?? TimeCursor.DefaultLimit;
        if (take is < 1 or > TimeCursor.MaxLimit) return ApiProblems.BadRequest($"limit must be between 1 and {TimeCursor.MaxLimit}");
        if (!TimeCursor.TryDecode(cursor, out var at, out var skip)) return ApiProblems.BadRequest("cursor is not one this server issued");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Reports.AsNoTracking().Include(r => r.Photos).InScope(user);
        if (category is not null) q = q.Where(r => r.Category == category);
        if (caseId is not null) q = q.Where(r => r.CaseId == caseId);
        if (at != long.MaxValue) q = q.Where(r => r.SubmittedAt <= at);
        var rows = await q.OrderByDescending(r => r.SubmittedAt).ThenByDescending(r => r.Id).Skip(skip).Take(take + 1).ToListAsync(ct);
        var next = TimeCursor.Next(rows, take, r => r.SubmittedAt, at, skip);
        return TypedResults.Ok(new Page<ReportView>(rows.Take(take).Select(ReportView.From).ToList(), next));
    }

    private static async Task<Results<Ok<ReportView>, ProblemHttpResult>> GetAsync(long id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, TimeProvider time,
        CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().Include(x => x.Photos).InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        return r is null ? ApiProblems.NotFound("report")
            : TypedResults.Ok(ReportView.From(r) with { Holds = await Holds.LegalHoldService.OnReportAsync(db, r, time.GetUtcNow(), ct) });
    }

    private static async Task<IResult> PhotoAsync(long id, long photoId, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, ReportIntake intake, Auditor audit,
        HttpResponse response, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().Include(x => x.Photos).InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        var photo = r?.Photos.FirstOrDefault(x => x.Id == photoId);
        if (photo is null || intake.PhotoPath(photo) is not { } path) return ApiProblems.NotFound("photo");
        await audit.RecordAsync("report.photo.view", "ok", $"report:{id}", $"photo {photoId}");
        // Served as a download of our own JPEG, never sniffed or rendered inline as something else.
        response.Headers.CacheControl = "private, no-store";
        return TypedResults.PhysicalFile(path, "image/jpeg", $"report-{id}-{photoId}.jpg");
    }

    private static async Task<Results<Ok<string>, ProblemHttpResult>> ContactAsync(long id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs, SecretBox secrets,
        Auditor audit, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().InScope(user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (r?.ContactSealed is null) return ApiProblems.NotFound("contact for that report");
        await audit.RecordAsync("report.contact.view", "ok", $"report:{id}");
        return TypedResults.Ok(secrets.OpenText(Convert.FromBase64String(r.ContactSealed), ReportIntake.ContactPurpose));
    }

    /// <summary>The public status of a report: found only by its token (128 random bits), so it cannot be enumerated.</summary>
    public static async Task<PublicReportStatus?> StatusAsync(string token, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, CivicLensConfig config, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(dbs);
        ArgumentNullException.ThrowIfNull(desk);
        ArgumentNullException.ThrowIfNull(config);
        if (token is not { Length: >= 16 and <= 64 }) return null;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().FirstOrDefaultAsync(x => x.Token == token, ct);
        if (r?.CaseId is null) return null;
        var c = await db.Cases.AsNoTracking().Include(x => x.History).FirstAsync(x => x.Id == r.CaseId, ct);
        // A merge moves the reports to the case that survives it, so the reporter follows that case with no lookup.
        // Only state moves ("fixed -> closed: note"), and only the state: notes are staff's words, not the public's.
        var history = c.History.Select(h => (h.At, State: StateAfter(h.Change))).Where(h => h.State is not null).OrderBy(h => h.At)
            .Select(h => new PublicStatusChange(DateTimeOffset.FromUnixTimeMilliseconds(h.At), CaseStates.PublicWording(h.State!)))
            .Prepend(new PublicStatusChange(DateTimeOffset.FromUnixTimeMilliseconds(r.SubmittedAt), CaseStates.PublicWording(CaseStates.Open)))
            .ToList();
        var area = config.Areas.FirstOrDefault(a => a.Id == c.AreaId)?.Name ?? config.District?.Name ?? c.AreaId;
        return new PublicReportStatus(desk.CategoryOrDefault(r.Category).Name, c.State, CaseStates.PublicWording(c.State), desk.DepartmentName(c.DepartmentId), area,
            DateTimeOffset.FromUnixTimeMilliseconds(r.SubmittedAt), history[^1].At, history);
    }

    /// <summary>
    /// The state a history line moved the case to ("acknowledged -> in_progress: note", "camera ... clear; fixed ->
    /// closed"), or null when the line is no state move: the first "state -> state" in it, whatever the note says.
    /// </summary>
    private static string? StateAfter(string change)
    {
        for (var arrow = change.IndexOf(" -> ", StringComparison.Ordinal); arrow >= 0; arrow = change.IndexOf(" -> ", arrow + 4, StringComparison.Ordinal))
        {
            var before = change[..arrow];
            var from = before[(before.LastIndexOf(' ') + 1)..];
            var rest = change[(arrow + 4)..];
            var end = rest.IndexOfAny([':', ' ', ';']);
            var to = end < 0 ? rest : rest[..end];
            if (CaseStates.Transitions.ContainsKey(from) && CaseStates.Transitions.ContainsKey(to)) return to;
        }

        return null;
    }

    private static async Task<Results<Ok<PublicReportStatus>, ProblemHttpResult>> PublicStatusAsync(string token, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk,
        CivicLensConfig config, HttpResponse response, CancellationToken ct)
    {
        response.Headers.CacheControl = "no-store";
        return await StatusAsync(token, dbs, desk, config, ct) is { } s ? TypedResults.Ok(s) : ApiProblems.NotFound("report");
    }

    private static async Task<IResult> StatusPageAsync(string token, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, CivicLensConfig config, HttpResponse response,
        CancellationToken ct)
    {
        response.Headers.CacheControl = "no-store";
        // The token is in the path: the page must not leak it to other sites through the Referer header.
        response.Headers["Referrer-Policy"] = "no-referrer";
        var s = await StatusAsync(token, dbs, desk, config, ct);
        return Results.Content(StatusPage(s), "text/html; charset=utf-8", Encoding.UTF8, s is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK);
    }

    private static string StatusPage(PublicReportStatus? s)
    {
        var h = new HtmlWriter();
        h.Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<meta name=\"robots\" content=\"noindex\"><title>").Text(s is null ? "Report not found" : "Your report: " + s.Status)
            .Raw("</title><link rel=\"stylesheet\" href=\"/transparency/style.css\"></head><body><header><p class=\"kicker\">Report status</p>");
        if (s is null)
        {
            h.Element("h1", "Report not found").Raw("</header><main>")
                .Element("p", "No report has this link. Check that the whole link was copied; it is the only way to find a report.").Raw("</main>");
        }
        else
        {
            h.Element("h1", s.Category).Element("p", s.Status, "subtitle").Raw("</header><main><dl>")
                .Term("Status", s.Status).Term("Handled by", s.Department).Term("Area", s.Area)
                .Term("Reported", s.SubmittedAt.ToString("d MMM yyyy HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture))
                .Term("Last change", s.UpdatedAt.ToString("d MMM yyyy HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture)).Raw("</dl>")
                .Table("Progress", ["When", "Status"], s.History.Select(x => (IReadOnlyList<string>)[x.At.ToString("d MMM yyyy HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture), x.Status]))
                .Raw("</main>");
        }

        h.Raw("<footer><p>").Text("This page shows the progress of one report and nothing about who sent it. ").Link("/transparency", "Camera transparency register").Raw("</p></footer>");
        return h.Raw("</body></html>\n").ToString();
    }
}
