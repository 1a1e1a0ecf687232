using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Audit;
using CivicLens.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace CivicLens.Server.Security;

/// <summary>
/// Optional login through an OpenID Connect provider: authorization code flow with PKCE, state and nonce checked by the
/// handler. A validated id_token becomes a local account (created at the first login, role and areas refreshed at every
/// login) and the same session cookie a local login issues, so everything downstream is unchanged.
/// </summary>
public static class OidcLogin
{
    public const string Scheme = "oidc";
    public const string LoginPath = "/api/auth/oidc/login";
    public const string CallbackPath = "/api/auth/oidc/callback";

    /// <summary>RFC 8176 methods that are, or include, a second factor.</summary>
    private static readonly string[] SecondFactorMethods = ["mfa", "otp", "hwk", "swk", "sms", "fpt"];

    public static AuthenticationBuilder AddOidcLogin(this AuthenticationBuilder auth, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(auth);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Oidc is not { } oidc) return auth;
        var https = options.Urls.All(u => u.StartsWith("https:", StringComparison.Ordinal));
        return auth.AddOpenIdConnect(Scheme, "OpenID Connect", o =>
        {
            o.Authority = oidc.Authority.ToString();
            // The start guard allows http only on loopback.
            o.RequireHttpsMetadata = oidc.Authority.Scheme == "https";
            o.ClientId = oidc.ClientId;
            o.ClientSecret = oidc.ClientSecret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.ResponseMode = OpenIdConnectResponseMode.Query;
            o.UsePkce = true;
            o.CallbackPath = CallbackPath;
            o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.MapInboundClaims = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.SaveTokens = false;
            o.DisableTelemetry = true;
            o.ClaimActions.Clear();
            o.Scope.Clear();
            foreach (var scope in oidc.Scopes.Prepend("openid").Distinct(StringComparer.Ordinal)) o.Scope.Add(scope);
            // The provider redirects back with a top-level GET (response_mode=query), which Lax cookies survive.
            foreach (var cookie in new[] { o.CorrelationCookie, o.NonceCookie })
            {
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = https ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            }

            o.Events.OnTokenValidated = TokenValidatedAsync;
            o.Events.OnRemoteFailure = RemoteFailureAsync;
        });
    }

    /// <summary>The login endpoint, mapped only when a provider is configured.</summary>
    public static void MapOidcLogin(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ServiceProvider.GetRequiredService<ServerOptions>().Oidc is null) return;
        app.MapGet(LoginPath, (string? returnUrl) =>
        {
            var target = string.IsNullOrEmpty(returnUrl) ? "/" : returnUrl;
            if (!IsLocal(target)) return ApiProblems.BadRequest("returnUrl must be a path on this server (starting with a single '/').");
            return Results.Challenge(new AuthenticationProperties { RedirectUri = target }, [Scheme]);
        }).AllowAnonymous().RequireRateLimiting(AuthEndpoints.LoginLimiter).WithTags("auth")
            .Produces(StatusCodes.Status302Found).ProducesProblem(StatusCodes.Status400BadRequest);
    }

    internal static bool IsLocal(string url) =>
        url.StartsWith('/') && (url.Length == 1 || url[1] is not ('/' or '\\')) && !url.Any(char.IsControl);

    private static async Task TokenValidatedAsync(TokenValidatedContext context)
    {
        var services = context.HttpContext.RequestServices;
        var settings = services.GetRequiredService<ServerOptions>().Oidc!;
        var principal = context.Principal!;
        var subject = principal.FindFirst("sub");
        var name = DisplayName(principal, settings.Authority);
        if (subject is null || string.IsNullOrEmpty(subject.Value))
        {
            await RefuseAsync(context, name, "the id_token names no subject");
            return;
        }

        var roles = principal.FindAll(settings.RoleClaim).Select(c => c.Value)
            .Where(settings.RoleMap.ContainsKey).Select(v => settings.RoleMap[v]).Distinct(StringComparer.Ordinal).ToList();
        if (roles.Count == 0)
        {
            await RefuseAsync(context, name, $"none of the user's '{settings.RoleClaim}' values maps to a CivicLens role");
            return;
        }

        if (roles.Count > 1)
        {
            await RefuseAsync(context, name, $"the user's '{settings.RoleClaim}' values map to several roles ({string.Join(", ", roles)}); an account has exactly one");
            return;
        }

        var role = roles[0];
        var secondFactor = principal.FindAll("amr").Any(c => SecondFactorMethods.Contains(c.Value, StringComparer.Ordinal));
        if (Roles.RequiresSecondFactor(role) && !secondFactor)
        {
            await RefuseAsync(context, name, $"the role {role} needs a second factor and the provider reports none (amr)");
            return;
        }

        IReadOnlyList<string>? areas = settings.AreaClaim is null ? null
            : [.. principal.FindAll(settings.AreaClaim).SelectMany(c => c.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal)];
        // Fail closed: with an area claim configured, a missing claim is more likely a provider mistake than an
        // intent to show the whole district. Only admins and auditors, who are not area-scoped in practice, pass without.
        if (areas is { Count: 0 } && role is not (Roles.Admin or Roles.Auditor))
        {
            await RefuseAsync(context, name, $"the user has no '{settings.AreaClaim}' values, and a {role} without areas would see the whole district");
            return;
        }

        var user = await services.GetRequiredService<AccountService>()
            .ExternalLoginAsync($"{subject.Issuer}|{subject.Value}", name, role, areas, context.HttpContext.RequestAborted);
        if (user is null)
        {
            await RefuseAsync(context, name, "the account is disabled");
            return;
        }

        // The same claims as a local login: the stamp check, area scoping and the live feed see no difference.
        context.Principal = AuthEndpoints.SessionPrincipal(user);
        await services.GetRequiredService<Auditor>().RecordAsync("login", "ok", actor: user.UserName, detail: secondFactor ? "oidc+mfa" : "oidc");
    }

    private static async Task RefuseAsync(TokenValidatedContext context, string name, string reason)
    {
        await context.HttpContext.RequestServices.GetRequiredService<Auditor>().RecordAsync("login", "refused", actor: name, detail: "oidc: " + reason);
        context.HandleResponse();
        await Results.Problem(title: "Login refused", detail: $"The identity provider's login was refused: {reason}.", statusCode: StatusCodes.Status403Forbidden)
            .ExecuteAsync(context.HttpContext);
    }

    /// <summary>A forged or expired token, a replayed or foreign callback, an error from the provider.</summary>
    private static async Task RemoteFailureAsync(RemoteFailureContext context)
    {
        var kind = context.Failure is SecurityTokenException ? "the id_token was rejected" : "the provider's answer was not accepted";
        await context.HttpContext.RequestServices.GetRequiredService<Auditor>()
            .RecordAsync("login", "refused", detail: $"oidc: {kind} ({context.Failure?.GetType().Name ?? "unknown"})");
        context.HandleResponse();
        await Results.Problem(title: "Login failed", detail: $"OpenID Connect login failed: {kind}. Start again from the login page.", statusCode: StatusCodes.Status401Unauthorized)
            .ExecuteAsync(context.HttpContext);
    }

    /// <summary>The account's name: the provider's user name or e-mail, always with an '@' (which local names never have).</summary>
    private static string DisplayName(ClaimsPrincipal principal, Uri authority)
    {
        var raw = principal.FindFirst("preferred_username")?.Value ?? principal.FindFirst("email")?.Value ?? principal.FindFirst("sub")?.Value ?? "unknown";
        var name = new string([.. raw.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@')]);
        if (!name.Contains('@', StringComparison.Ordinal)) name = $"{name}@{authority.Host}";
        return name.Length <= 60 ? name : name[..60];
    }
}
