using System.Globalization;
using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Security;
using CivicLens.Storage.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CivicLens.Server.Api;

public sealed record LoginRequest(string UserName, string Password, string? Code);

public sealed record PasswordChange(string Current, string Replacement);

public sealed record Whoami(string UserName, string Role, IReadOnlyList<string>? Areas);

/// <summary>Login with password and, for operators, investigators and admins, a TOTP code; logout; password change.</summary>
public static class AuthEndpoints
{
    public const string LoginLimiter = "login";

    public static void MapAuth(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("auth");
        auth.MapPost("/login", LoginAsync).AllowAnonymous().RequireRateLimiting(LoginLimiter)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        auth.MapPost("/logout", async (HttpContext ctx, Auditor audit) =>
        {
            await audit.RecordAsync("logout", "ok");
            await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return TypedResults.NoContent();
        }).RequireAuthorization();
        auth.MapGet("/me", (ClaimsPrincipal principal) =>
        {
            var me = CurrentUser.From(principal)!;
            return TypedResults.Ok(new Whoami(me.Name, me.Role, me.Areas));
        }).RequireAuthorization();
        auth.MapPost("/password", ChangePasswordAsync).RequireAuthorization().ProducesValidationProblem();
    }

    private static async Task<Results<Ok<Whoami>, ProblemHttpResult>> LoginAsync(LoginRequest request, HttpContext ctx, AccountService accounts, Auditor audit, CancellationToken ct)
    {
        var result = await accounts.LoginAsync(request.UserName ?? "", request.Password ?? "", string.IsNullOrWhiteSpace(request.Code) ? null : request.Code.Trim(), ct);
        var name = request.UserName ?? "";
        switch (result.Outcome)
        {
            case LoginOutcome.Ok:
                var user = result.User!;
                await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, SessionPrincipal(user));
                await audit.RecordAsync("login", "ok", actor: user.UserName, detail: Roles.RequiresSecondFactor(user.Role) ? "password+totp" : "password");
                return TypedResults.Ok(new Whoami(user.UserName, user.Role, user.AreaScope?.Split(',')));
            case LoginOutcome.SecondFactorRequired:
                return TypedResults.Problem(title: "Second factor required", detail: "Enter the 6-digit code from your authenticator app.",
                    statusCode: StatusCodes.Status401Unauthorized, extensions: new Dictionary<string, object?> { ["secondFactor"] = "required" });
            case LoginOutcome.EnrolmentRequired:
                await audit.RecordAsync("totp.enrolment", "started", actor: name);
                return TypedResults.Problem(title: "Second factor enrolment required",
                    detail: "Add this account to an authenticator app (scan the otpauth URI or type the secret), then log in again with its code.",
                    statusCode: StatusCodes.Status401Unauthorized,
                    extensions: new Dictionary<string, object?> { ["secondFactor"] = "enrol", ["otpauthUri"] = result.EnrolmentUri, ["secret"] = result.EnrolmentSecret });
            default:
                await audit.RecordAsync("login", result.Outcome == LoginOutcome.Locked ? "locked" : "failed", actor: Truncate(name));
                // The same answer for an unknown name, a wrong password, a wrong code and a locked account.
                return TypedResults.Problem(title: "Login failed", detail: "The user name, password or code is wrong, or the account is locked for a while after repeated failures.",
                    statusCode: StatusCodes.Status401Unauthorized);
        }
    }

    private static async Task<Results<NoContent, ValidationProblem>> ChangePasswordAsync(PasswordChange change, HttpContext ctx, AccountService accounts, Auditor audit, CancellationToken ct)
    {
        var me = CurrentUser.From(ctx.User)!;
        try
        {
            await accounts.ChangePasswordAsync(me.Id, change.Current, change.Replacement, ct);
        }
        catch (AccountException ex)
        {
            await audit.RecordAsync("password.change", "refused");
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["replacement"] = [ex.Message] });
        }

        await audit.RecordAsync("password.change", "ok");
        await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.NoContent();
    }

    /// <summary>The session's claims, the same for a local and an OpenID Connect login (the cookie carries nothing else).</summary>
    public static ClaimsPrincipal SessionPrincipal(User user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, user.Id.ToString(CultureInfo.InvariantCulture)),
            new(ClaimTypes.Name, user.UserName),
            new(ClaimTypes.Role, user.Role),
            new(CurrentUser.StampClaim, user.SecurityStamp),
        };
        if (user.AreaScope is not null) claims.Add(new Claim(CurrentUser.AreaClaim, user.AreaScope));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64];
}
