using CivicLens.Server.Hosting;

namespace CivicLens.Server.Security;

/// <summary>
/// Headers every answer carries: no sniffing, no framing, no referrer, a strict content security policy, and
/// no caching of API answers (they hold operational data).
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next, ServerOptions options)
{
    // The console's base map tiles (serve --tiles) are the one outside origin a page may load, and only as images.
    private readonly string _policy = "default-src 'self'; img-src 'self' data: blob:"
        + (options.TileUrlTemplate is { } t && ServerOptions.TileOrigin(t) is { } origin ? " " + origin : "")
        + "; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            h["Cross-Origin-Resource-Policy"] = "same-origin";
            h["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()";
            h.ContentSecurityPolicy = _policy;
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)) h.CacheControl = "no-store";
            if (context.Request.IsHttps) h.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
            return Task.CompletedTask;
        });
        return next(context);
    }
}
