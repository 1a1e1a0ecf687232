namespace CivicLens.Server.Tests;

/// <summary>
/// The routes a caller without a session may reach, in one list so every test that guards the public surface
/// agrees: the transparency register, the reporter's status page (found by a 128-bit token), public report
/// intake (off unless the city turns it on, rate-limited), the public district outline for the report form and
/// Open311 (reads minimised for anonymous callers; filing needs a key or public intake), and the load balancer's
/// health checks, which answer one word and nothing else (docs/operations.md). The local and OIDC login
/// starts are checked by their own tests.
/// </summary>
internal static class PublicSurface
{
    public static readonly string[] Prefixes = ["/transparency", "/status/{token}", "/api/public/reports/{token}", "/public/reports", "/public/district", "/open311/v2/", "/health/live", "/health/ready"];

    public static bool IsPublic(string pattern) => Prefixes.Any(prefix => pattern.StartsWith(prefix, StringComparison.Ordinal));
}
