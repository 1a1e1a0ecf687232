using System.Globalization;
using System.Security.Claims;

namespace CivicLens.Server.Security;

/// <summary>Who is calling: from the session cookie or an API key.</summary>
public sealed record CurrentUser(long Id, string Name, string Role, IReadOnlyList<string>? Areas)
{
    public const string AreaClaim = "civiclens:areas";
    public const string StampClaim = "civiclens:stamp";

    public static CurrentUser? From(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity?.IsAuthenticated != true) return null;
        var id = long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
        var areas = principal.FindFirstValue(AreaClaim);
        return new(id, principal.Identity.Name ?? "?", principal.FindFirstValue(ClaimTypes.Role) ?? "",
            string.IsNullOrEmpty(areas) ? null : areas.Split(','));
    }

    /// <summary>Whether an object in <paramref name="areaId"/> is in this caller's scope.</summary>
    public bool Sees(string? areaId) => Areas is null || (areaId is not null && Areas.Contains(areaId));
}
