using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace CivicLens.ConsoleWeb;

/// <summary>
/// Serves the operator console (static files embedded in this assembly) at <c>/console/</c> and sends <c>/</c> there.
/// It is middleware, not endpoints, and must run before authorization: the shell is the login page and holds no data;
/// everything it shows comes from the API, which stays the one authority for who may see what.
/// </summary>
public static class ConsoleSetup
{
    public const string BasePath = "/console";

    /// <summary>The field report form, served from <c>/console/report/</c>.</summary>
    public const string ReportPath = "/report";

    public static IFileProvider Files { get; } = new ManifestEmbeddedFileProvider(typeof(ConsoleSetup).Assembly, "wwwroot");

    public static WebApplication UseConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use((context, next) =>
        {
            var path = context.Request.Path;
            if (HttpMethods.IsGet(context.Request.Method) && (path == "/" || path == BasePath))
            {
                context.Response.Redirect(BasePath + "/");
                return Task.CompletedTask;
            }

            // The report form (a PWA for phones) has a short address to print on posters and signs.
            if (HttpMethods.IsGet(context.Request.Method) && (path == ReportPath || path == ReportPath + "/" || path == BasePath + ReportPath))
            {
                context.Response.Redirect(BasePath + ReportPath + "/");
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = Files, RequestPath = BasePath });
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".mjs"] = "text/javascript";
        types.Mappings[".webmanifest"] = "application/manifest+json";
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Files,
            RequestPath = BasePath,
            ContentTypeProvider = types,
            // Revalidated on every load (ETag), so an upgrade is picked up at once and nothing stale runs.
            OnPrepareResponse = c => c.Context.Response.Headers[HeaderNames.CacheControl] = "no-cache",
        });
        return app;
    }
}
