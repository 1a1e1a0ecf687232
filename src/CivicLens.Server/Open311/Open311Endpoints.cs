using System.Globalization;
using System.Text;
using CivicLens.District.Categories;
using CivicLens.Reports.Cases;
using CivicLens.Reports.Open311;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Reports;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Open311;

/// <summary>
/// Open311 GeoReport v2 (<c>/open311/v2/...</c>, JSON and XML) so existing 311 apps and dashboards can file and
/// follow reports. Services are the configured categories, with their attributes as service definitions; service
/// requests are field reports. One jurisdiction, the district's id: <c>jurisdiction_id</c> may be left out, and any
/// other value is a 404 on every endpoint.
/// Filing needs an <c>api_key</c> (an API key of scope <c>open311</c>) unless the city takes public reports.
/// Reading is open, as the standard expects, but minimised for anonymous callers: no description, no photo,
/// and the place rounded to about 100 m; a valid key sees the report as filed.
/// Extensions: <c>page</c>/<c>page_size</c> paging, <c>media</c> photo upload in a multipart POST, <c>media_url</c>
/// for key holders (the photo itself still needs a staff session).
/// Not supported: a request placed by <c>address_string</c> or <c>address_id</c> alone (no geocoder yet: 400).
/// </summary>
public static class Open311Endpoints
{
    public const string Root = "/open311/v2";
    public const string KeyScope = ApiKeyHandler.Open311Scope;
    private const int DefaultPageSize = 200;
    private const int MaxPageSize = 1000;

    /// <summary>The longest start_date..end_date window one query may ask for (the standard's default window).</summary>
    private static readonly TimeSpan MaxWindow = TimeSpan.FromDays(90);

    /// <summary>When this server's GeoReport surface last changed (discovery's <c>changeset</c>).</summary>
    private static readonly DateTimeOffset Changeset = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    public const string AddressOnly = "lat/long required: this server cannot place an address yet";

    public static void MapOpen311(this IEndpointRouteBuilder app, long photoBytes)
    {
        var g = app.MapGroup(Root).WithTags("open311").AllowAnonymous().ExcludeFromDescription();
        g.AddEndpointFilter(JurisdictionFilterAsync);
        g.MapGet("/discovery.{format}", Discovery);
        g.MapGet("/services.{format}", Services);
        g.MapGet("/services/{code}.{format}", ServiceDefinition);
        g.MapPost("/requests.{format}", PostRequestAsync).DisableAntiforgery().RequireRateLimiting(ReportEndpoints.PublicLimiter)
            .WithMetadata(ReportEndpoints.SizeLimit(photoBytes));
        g.MapGet("/requests.{format}", GetRequestsAsync);
        g.MapGet("/requests/{id}.{format}", GetRequestAsync);
        g.MapGet("/tokens/{token}.{format}", GetTokenAsync);
    }

    private static IResult Doc(string format, string body, int status = StatusCodes.Status200OK) =>
        Results.Content(body, GeoReport.ContentType(format), Encoding.UTF8, status);

    private static IResult Error(string format, int status, string description) =>
        Doc(GeoReport.IsFormat(format) ? format : GeoReport.Json, GeoReport.Error(GeoReport.IsFormat(format) ? format : GeoReport.Json, status, description), status);

    /// <summary>
    /// Every endpoint answers only for this district: a <c>jurisdiction_id</c> naming another one is a 404 in
    /// GeoReport's error format (a POST may carry it in its form, read there).
    /// </summary>
    private static async ValueTask<object?> JurisdictionFilterAsync(EndpointFilterInvocationContext ctx, EndpointFilterDelegate next)
    {
        var request = ctx.HttpContext.Request;
        var jurisdiction = Jurisdiction(ctx.HttpContext.RequestServices.GetRequiredService<CivicLensConfig>());
        var format = request.RouteValues.TryGetValue("format", out var f) ? f as string : null;
        if (GeoReportDocuments.JurisdictionError(request.Query["jurisdiction_id"].ToString(), jurisdiction) is { } error) return Error(format ?? GeoReport.Json, 404, error);
        return await next(ctx);
    }

    /// <summary>This server's one jurisdiction: the district's id.</summary>
    public static string Jurisdiction(CivicLensConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.District?.Id ?? "district";
    }

    private static IResult Discovery(string format, HttpRequest request, CivicLensConfig config)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        var base_ = PublicAddress.Of(request) + Root;
        var name = config.District?.Name ?? "This city";
        return Doc(format, GeoReportDocuments.Discovery(format, new DiscoveryDocument(
            Changeset,
            $"{name}: questions about this service go to the city's CivicLens administrators ({PublicAddress.Of(request)})",
            $"{name} issues api keys (scope open311) to registered applications: ask the city's CivicLens administrators",
            [new DiscoveryEndpoint(base_, Changeset, "production")])));
    }

    private static IResult Services(string format, CaseDesk desk)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        return Doc(format, GeoReport.Write(format, "services", "service", desk.Categories.OrderBy(c => c.Group).ThenBy(c => c.Name).Select(ServiceFields)));
    }

    private static IReadOnlyList<KeyValuePair<string, object?>> ServiceFields(CategoryConfig c) =>
    [
        new("service_code", c.Id),
        new("service_name", c.Name),
        new("description", c.Description ?? c.Name),
        new("metadata", c.Attributes.Count > 0),
        new("type", "realtime"),
        new("keywords", c.Public ? "public" : "staff"),
        new("group", c.Group ?? "General"),
    ];

    private static IResult ServiceDefinition(string code, string format, CaseDesk desk)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        if (desk.Category(code) is not { } category) return Error(format, 404, $"unknown service_code '{code}'");
        return Doc(format, GeoReportDocuments.ServiceDefinition(format, category.Id, category.Attributes));
    }

    /// <summary>The key's name when <paramref name="apiKey"/> is a live key of scope open311.</summary>
    private static async Task<string?> KeyNameAsync(string? apiKey, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(apiKey) || apiKey.Length > 200) return null;
        var hash = ApiKeyHandler.HashKey(apiKey);
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.ApiKeys.AsNoTracking().Where(k => k.Hash == hash && !k.Revoked && k.Scope == KeyScope).Select(k => k.Name).FirstOrDefaultAsync(ct);
    }

    private static async Task<IResult> PostRequestAsync(string format, HttpContext ctx, ReportIntake intake, IDbContextFactory<CivicLensDb> dbs, CivicLensConfig config,
        CaseDesk desk, CancellationToken ct)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        var key = ctx.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 200) return Error(format, 400, "Idempotency-Key is at most 200 characters");
        ReportForm form;
        string? keyName = null;
        string? admitted = null;
        // Who may file is settled before a photo goes through the detector (the key comes before the media part,
        // as clients send it), and again after reading for a key sent last (looked up once when it is the same).
        async Task Admit(IReadOnlyDictionary<string, string> fields)
        {
            if (fields.TryGetValue("jurisdiction_id", out var j) && GeoReportDocuments.JurisdictionError(j, Jurisdiction(config)) is { } elsewhere)
            {
                throw new ReportRejectedException(elsewhere, "jurisdiction_id", StatusCodes.Status404NotFound);
            }

            var apiKey = fields.TryGetValue("api_key", out var k) && k.Length > 0 ? k : ctx.Request.Query["api_key"].ToString();
            if (apiKey == admitted) return;
            admitted = apiKey;
            keyName = await KeyNameAsync(apiKey, dbs, ct);
            if (keyName is null && !string.IsNullOrEmpty(apiKey)) throw new ReportRejectedException("api_key is not valid", "api_key", StatusCodes.Status403Forbidden);
            if (keyName is null && !config.Routing.PublicReports)
            {
                throw new ReportRejectedException("api_key is required (before the media part): this city takes reports from registered applications only", "api_key",
                    StatusCodes.Status403Forbidden);
            }
        }

        try
        {
            form = await ReportFormReader.ReadAsync(ctx.Request, () => intake.Photos, ct, Admit);
            await Admit(form.Fields);
        }
        catch (ReportRejectedException ex)
        {
            return Error(format, ex.Status, ex.Message);
        }

        if (form.Field("media_url") is { Length: > 0 }) return Error(format, 400, "media_url is not fetched by this server; upload the photo as the 'media' part of a multipart request");
        // No geocoder yet (the city's data hub will place addresses): an address alone cannot be routed to an area.
        if (form.Draft.Latitude is null && form.Draft.Longitude is null && (form.Field("address_string") is { Length: > 0 } || form.Field("address_id") is { Length: > 0 }))
        {
            return Error(format, 400, AddressOnly);
        }

        // device_id, account_id and the reporter's names are ignored on purpose: no phone identifiers, no profiles.
        var who = keyName is null ? new Submitter("public", null) : new Submitter("open311", "key:" + keyName);
        var draft = form.Draft;
        try
        {
            // The category's questions, answered as attribute[code] (attribute[code][] for a multivaluelist).
            var answers = GeoReportDocuments.AttributeFields(form.Fields);
            if (desk.Category(draft.Category) is { } category && (answers.Count > 0 || category.Attributes.Count > 0))
            {
                var stored = CategoryAttributes.Check(category.Attributes, answers);
                draft = draft with { Attributes = stored.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(stored) };
            }

            var receipt = await intake.SubmitAsync(draft, form.Photos, who, key.Length > 0 ? key : null, ct);
            return Doc(format, GeoReport.Write(format, "service_requests", "request", [[
                new("service_request_id", receipt.Report.Id.ToString(CultureInfo.InvariantCulture)),
                new("token", receipt.Report.Token),
                new("service_notice", receipt.Warnings.Count > 0 ? string.Join("; ", receipt.Warnings) : ""),
                new("account_id", null),
            ]]), receipt.Replayed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
        }
        catch (ReportRejectedException ex)
        {
            return Error(format, ex.Status, ex.Message);
        }
        catch (AttributeAnswerException ex)
        {
            return Error(format, 400, ex.Message);
        }
    }

    private static async Task<IResult> GetRequestsAsync(string format, HttpRequest request, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, TimeProvider time,
        string? service_request_id, string? service_code, string? start_date, string? end_date, string? status, int? page, int? page_size, string? api_key,
        CancellationToken ct)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        var full = await KeyNameAsync(api_key, dbs, ct) is not null;
        var size = page_size ?? DefaultPageSize;
        var number = page ?? 1;
        if (size is < 1 or > MaxPageSize) return Error(format, 400, $"page_size is between 1 and {MaxPageSize}");
        if (number < 1) return Error(format, 400, "page starts at 1");
        var wanted = status?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (wanted.Any(w => w is not ("open" or "closed"))) return Error(format, 400, "status is open, closed or both (comma separated)");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Reports.AsNoTracking();
        if (!string.IsNullOrEmpty(service_request_id))
        {
            var ids = new List<long>();
            foreach (var part in service_request_id.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id)) return Error(format, 400, $"service_request_id '{part}' is not a request id");
                ids.Add(id);
            }

            if (ids.Count > MaxPageSize) return Error(format, 400, $"at most {MaxPageSize} ids");
            q = q.Where(r => ids.Contains(r.Id));
        }
        else
        {
            // The standard's default window, the last 90 days, is also the widest one: an anonymous caller cannot
            // make the server walk every report it ever had.
            var now = time.GetUtcNow();
            if (!TryDate(end_date, out var end) || !TryDate(start_date, out var start)) return Error(format, 400, "start_date and end_date are ISO 8601 times (2026-11-23T10:00:00Z)");
            var to = end ?? now;
            var from = start ?? to - MaxWindow;
            if (from > to) return Error(format, 400, "start_date is after end_date");
            if (to - from > MaxWindow) return Error(format, 400, $"start_date..end_date spans at most {MaxWindow.TotalDays:0} days; page through longer periods window by window");
            var (f, t) = (from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
            q = q.Where(r => r.SubmittedAt >= f && r.SubmittedAt <= t);
        }

        if (!string.IsNullOrEmpty(service_code))
        {
            var codes = service_code.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            q = q.Where(r => codes.Contains(r.Category));
        }

        // Status and paging in SQL: a request's status is its case's (a merge moves the reports to the case that
        // survives it, so a report's case is never a merged one).
        var withState = from r in q
                        join c in db.Cases on r.CaseId equals (long?)c.Id into cj
                        from c in cj.DefaultIfEmpty()
                        select new { r.Id, r.SubmittedAt, State = c != null ? c.State : null };
        if (wanted.Length > 0 && !(wanted.Contains("open") && wanted.Contains("closed")))
        {
            withState = wanted.Contains("closed")
                ? withState.Where(x => x.State == CaseStates.Fixed || x.State == CaseStates.Closed)
                : withState.Where(x => x.State != CaseStates.Fixed && x.State != CaseStates.Closed);
        }

        var pageIds = await withState.OrderByDescending(x => x.SubmittedAt).ThenByDescending(x => x.Id).Skip((number - 1) * size).Take(size).Select(x => x.Id).ToListAsync(ct);
        var reports = await db.Reports.AsNoTracking().Include(r => r.Photos).Where(r => pageIds.Contains(r.Id))
            .OrderByDescending(r => r.SubmittedAt).ThenByDescending(r => r.Id).ToListAsync(ct);
        var caseIds = reports.Where(r => r.CaseId is not null).Select(r => r.CaseId!.Value).Distinct().ToList();
        var cases = await db.Cases.AsNoTracking().Include(c => c.History).Where(c => caseIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, ct);
        var publicBase = PublicAddress.Of(request);
        var rows = reports.Select(r => RequestFields(r, r.CaseId is { } c ? cases.GetValueOrDefault(c) : null, desk, full, publicBase));
        return Doc(format, GeoReport.Write(format, "service_requests", "request", rows));
    }

    private static async Task<IResult> GetRequestAsync(string id, string format, HttpRequest request, IDbContextFactory<CivicLensDb> dbs, CaseDesk desk, string? api_key,
        CancellationToken ct)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var rid)) return Error(format, 404, $"no service request '{id}'");
        var full = await KeyNameAsync(api_key, dbs, ct) is not null;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var r = await db.Reports.AsNoTracking().Include(x => x.Photos).FirstOrDefaultAsync(x => x.Id == rid, ct);
        if (r is null) return Error(format, 404, $"no service request '{id}'");
        var c = await db.Cases.AsNoTracking().Include(x => x.History).FirstOrDefaultAsync(x => x.Id == r.CaseId, ct);
        return Doc(format, GeoReport.Write(format, "service_requests", "request", [RequestFields(r, c, desk, full, PublicAddress.Of(request))]));
    }

    private static async Task<IResult> GetTokenAsync(string token, string format, IDbContextFactory<CivicLensDb> dbs, CancellationToken ct)
    {
        if (!GeoReport.IsFormat(format)) return Error(format, 404, "format is json or xml");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var id = token.Length is >= 16 and <= 64 ? await db.Reports.AsNoTracking().Where(r => r.Token == token).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct) : null;
        if (id is null) return Error(format, 404, "no request has that token");
        return Doc(format, GeoReport.Write(format, "service_requests", "request", [[
            new("service_request_id", id.Value.ToString(CultureInfo.InvariantCulture)),
            new("token", token),
        ]]));
    }

    /// <summary>GeoReport has two states: a fixed problem is closed for the public.</summary>
    private static string GeoStatus(string? state) => state is CaseStates.Fixed or CaseStates.Closed ? "closed" : "open";

    private static IReadOnlyList<KeyValuePair<string, object?>> RequestFields(ReportRecord r, CaseRecord? c, CaseDesk desk, bool full, string publicBase)
    {
        var updated = c?.History.Count > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(c.History.Max(h => h.At)) : DateTimeOffset.FromUnixTimeMilliseconds(r.SubmittedAt);
        var lat = full ? r.Latitude : Math.Round(r.Latitude, 3);
        var lon = full ? r.Longitude : Math.Round(r.Longitude, 3);
        var media = full && r.Photos.Count > 0 ? $"{publicBase}/api/reports/{r.Id}/photos/{r.Photos.OrderBy(p => p.Id).First().Id}" : null;
        return
        [
            new("service_request_id", r.Id.ToString(CultureInfo.InvariantCulture)),
            new("status", GeoStatus(c?.State)),
            new("status_notes", CaseStates.PublicWording(c?.State ?? CaseStates.Open)),
            new("service_name", desk.CategoryOrDefault(r.Category).Name),
            new("service_code", r.Category),
            new("description", full ? r.Description : null),
            new("agency_responsible", c is null ? null : desk.DepartmentName(c.DepartmentId)),
            new("service_notice", null),
            new("requested_datetime", DateTimeOffset.FromUnixTimeMilliseconds(r.SubmittedAt)),
            new("updated_datetime", updated),
            new("expected_datetime", c?.DueAt is { } d ? DateTimeOffset.FromUnixTimeMilliseconds(d) : null),
            new("address", full ? r.Address : null),
            new("address_id", null),
            new("zipcode", null),
            new("lat", lat),
            new("long", lon),
            new("media_url", media),
        ];
    }

    private static bool TryDate(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text)) return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v)) return false;
        value = v;
        return true;
    }
}
