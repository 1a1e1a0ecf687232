using System.Text;
using CivicLens.Server.Api;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CivicLens.Server.Transparency;

/// <summary>
/// The public transparency register: the only unauthenticated part of the server. GET only; it shows the camera
/// inventory, the signs' text, counts per month and the annual report, and nothing that identifies a person.
/// </summary>
public static class TransparencyEndpoints
{
    public const string Html = "text/html; charset=utf-8";
    public const string Csv = "text/csv; charset=utf-8; header=present";
    public const string Json = "application/json; charset=utf-8";

    /// <summary>The register changes rarely and holds nothing private: browsers and proxies may keep it a minute.</summary>
    public const string CacheControl = "public, max-age=60";

    private const int MaxCursorLength = 200;

    /// <summary>The public transparency register: the only unauthenticated part of the server.</summary>
    public static void MapTransparency(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var register = app.ServiceProvider.GetService<TransparencyRegister>() ?? ActivatorUtilities.CreateInstance<TransparencyRegister>(app.ServiceProvider);
        var g = app.MapGroup("/transparency").WithTags("transparency").AllowAnonymous();
        g.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers.CacheControl = CacheControl;
            return await next(context);
        });

        g.MapGet("", async (HttpRequest request, string? after, CancellationToken ct) =>
        {
            var links = RegisterLinks.For(request);
            if (after is { Length: > MaxCursorLength }) return NotFound(links);
            var page = await register.PageAsync(after, ct);
            var statistics = await register.StatisticsAsync(ct);
            return Page(TransparencyPages.Index(page, statistics, register.CurrentYear, links));
        }).ExcludeFromDescription();

        g.MapGet("/style.css", () => Results.Text(TransparencyStyle.Css, TransparencyStyle.ContentType, Encoding.UTF8)).ExcludeFromDescription();

        g.MapGet("/privacy", async (HttpRequest request, CancellationToken ct) =>
        {
            return Page(TransparencyPages.Privacy(await register.DistrictAsync(ct), register.Policy, RegisterLinks.For(request)));
        }).ExcludeFromDescription();

        g.MapGet("/cameras/{id}", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            var links = RegisterLinks.For(request);
            var (district, camera) = await register.CameraAsync(id, ct);
            return camera is null ? NotFound(links) : Page(TransparencyPages.Camera(district, camera, register.Policy, links));
        }).ExcludeFromDescription();

        g.MapGet("/cameras/{id}/sign", async (string id, HttpRequest request, CancellationToken ct) =>
        {
            var links = RegisterLinks.For(request);
            var (district, camera) = await register.CameraAsync(id, ct);
            return camera is null ? NotFound(links) : Page(TransparencyPages.Sign(district, camera, links));
        }).ExcludeFromDescription();

        g.MapGet("/cameras.json", async (HttpResponse response, CancellationToken ct) =>
        {
            var inventory = await register.InventoryAsync(ct);
            response.Headers.ContentDisposition = "attachment; filename=\"cameras.json\"";
            return TypedResults.Json(inventory, contentType: Json);
        });

        g.MapGet("/cameras.csv", (CancellationToken ct) => Results.Stream(
            async body =>
            {
                await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024, leaveOpen: true);
                await RegisterCsv.WriteAsync(writer, register.StreamAsync(ct), ct);
            },
            Csv,
            fileDownloadName: "cameras.csv")).ExcludeFromDescription();

        g.MapGet("/statistics.json", async (CancellationToken ct) => TypedResults.Json(await register.StatisticsAsync(ct), contentType: Json));

        g.MapGet("/report/{year:int}", async (int year, HttpRequest request, CancellationToken ct) =>
        {
            var links = RegisterLinks.For(request);
            var report = await register.ReportAsync(year, ct);
            return report is null ? NotFound(links) : Page(TransparencyPages.Report(report, links));
        }).ExcludeFromDescription();

        g.MapGet("/report/{year:int}.json", async Task<Results<JsonHttpResult<AnnualReport>, ProblemHttpResult>> (int year, CancellationToken ct) =>
            await register.ReportAsync(year, ct) is { } report ? TypedResults.Json(report, contentType: Json) : ApiProblems.NotFound("report for that year"));

        // Anything else under the register is a page that does not exist, not a request for a login.
        g.MapGet("/{**path}", (HttpRequest request) => NotFound(RegisterLinks.For(request))).ExcludeFromDescription();
    }

    private static IResult Page(string html) => Results.Content(html, Html, Encoding.UTF8);

    private static IResult NotFound(RegisterLinks links) => Results.Content(TransparencyPages.NotFound(links), Html, Encoding.UTF8, StatusCodes.Status404NotFound);
}
