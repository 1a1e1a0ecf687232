using System.Net;
using CivicLens.Server.Accounts;

namespace CivicLens.Server.Hosting;

/// <summary>Refuses to start an unsafe server: one that would listen beyond loopback without TLS.</summary>
public static class StartupGuard
{
    public static void CheckListeners(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var url in options.Urls)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https"))
            {
                throw new StartupException($"'{url}' is not a listen address (write http://127.0.0.1:8080 or https://0.0.0.0:8443).");
            }

            if (uri.Scheme == "https" && options.CertificatePath is null)
            {
                throw new StartupException($"'{url}' is https but no certificate is given (--certificate FILE.pfx).");
            }

            if (uri.Scheme == "http" && !IsLoopback(uri.Host))
            {
                throw new StartupException(
                    $"Refusing to listen on '{url}' without TLS: beyond loopback the server only speaks https (give --certificate and an https:// address, or put it behind a TLS proxy on loopback).");
            }
        }
    }

    /// <summary>The OpenID Connect settings: an https authority (http only on loopback), a client id and a role map onto known roles.</summary>
    public static void CheckOidc(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Oidc is not { } oidc) return;
        var authority = oidc.Authority;
        if (!authority.IsAbsoluteUri || authority.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(authority.UserInfo) || !string.IsNullOrEmpty(authority.Query)
            || !string.IsNullOrEmpty(authority.Fragment))
        {
            throw new StartupException("The OpenID Connect authority must be an absolute https URL without credentials, query or fragment (e.g. https://login.city.example/realms/staff).");
        }

        if (authority.Scheme == "http" && !IsLoopback(authority.Host))
        {
            throw new StartupException($"Refusing the OpenID Connect authority '{authority}': beyond loopback it must be https (tokens and keys would travel in the clear).");
        }

        if (string.IsNullOrWhiteSpace(oidc.ClientId)) throw new StartupException("OpenID Connect needs a client id (--oidc-client-id).");
        if (string.IsNullOrWhiteSpace(oidc.RoleClaim)) throw new StartupException("OpenID Connect needs a role claim (--oidc-role-claim, e.g. roles or groups).");
        if (oidc.RoleMap.Count == 0)
        {
            throw new StartupException("OpenID Connect needs a role map (--oidc-role-map \"group=role,...\"): no provider user is given a role by default.");
        }

        foreach (var (claim, role) in oidc.RoleMap)
        {
            if (string.IsNullOrWhiteSpace(claim) || !Roles.IsStaff(role))
            {
                throw new StartupException($"OpenID Connect role map: '{claim}={role}' does not name a role (roles: {string.Join(", ", Roles.Staff)}).");
            }
        }
    }

    /// <summary>The first admin's password: required at first start, never a default or weak one.</summary>
    public static void CheckAdminPassword(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            throw new StartupException(
                "First start: no accounts exist yet. Set the admin password (CIVICLENS_ADMIN_PASSWORD or --admin-password-file); there is no default password.");
        }

        if (PasswordPolicy.Check(password, "admin") is { } problem) throw new StartupException($"The admin password {problem}.");
    }

    internal static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>A reason the server will not start, said plainly (exit code 2).</summary>
public sealed class StartupException(string message) : Exception(message);
