using CivicLens.Server.Audit;

namespace CivicLens.Server.Security;

/// <summary>Every request refused for want of a session or a role leaves an audit record (login failures, local or OpenID Connect, are audited by the login itself).</summary>
public sealed class DeniedAudit(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, Auditor audit)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(audit);
        await next(context);
        var status = context.Response.StatusCode;
        if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden && !context.Request.Path.StartsWithSegments("/api/auth/login", StringComparison.Ordinal)
            && !context.Request.Path.StartsWithSegments("/api/auth/oidc", StringComparison.Ordinal))
        {
            var path = context.Request.Path.Value ?? "";
            await audit.RecordAsync("denied", status == 401 ? "unauthenticated" : "forbidden", $"{context.Request.Method} {(path.Length > 200 ? path[..200] : path)}");
        }
    }
}
