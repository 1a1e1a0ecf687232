using CivicLens.Rules.Configuration;

namespace CivicLens.Reports.Routing;

/// <summary>Where a problem goes and why (the reason is kept in the case history, so an operator can follow it).</summary>
/// <param name="Department">The department that must act.</param>
/// <param name="Owner">The department that owns the category in the area (differs from <paramref name="Department"/> after hours).</param>
/// <param name="EscalateTo">Who is told when the case breaches its SLA; null when there is nobody above.</param>
public sealed record RouteDecision(string Department, string Owner, string? EscalateTo, string Reason);

/// <summary>Routing fails only when nothing in the configuration takes the problem: no owner and no fallback.</summary>
public sealed class RoutingException(string message) : Exception(message)
{
    public RoutingException() : this("no department takes the problem") { }

    public RoutingException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// Category x area -> department, FixMyStreet's model: a department owns categories and covers areas (none listed:
/// the whole district). A department naming the area outranks one covering the whole district; the configured
/// fallback takes what nobody owns. Outside the owner's working hours a case goes to its <c>after_hours</c>
/// department when there is one. Camera events and field reports go through the same rules.
/// </summary>
public sealed class Router
{
    private readonly CivicLensConfig _config;
    private readonly Dictionary<string, DepartmentConfig> _departments;

    public Router(CivicLensConfig config)
    {
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _departments = config.Departments.ToDictionary(d => d.Id, StringComparer.Ordinal);
    }

    public RouteDecision Route(string category, string area, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(category);
        ArgumentNullException.ThrowIfNull(area);
        var (owner, reason) = Owner(category, area)
            ?? throw new RoutingException($"no department takes '{category}' in area '{area}' and no routing fallback is configured");
        var target = owner;
        if (!IsOpen(owner, at) && owner.AfterHours is { } ah && _departments.TryGetValue(ah, out var onCall))
        {
            target = onCall;
            reason += $"; outside {owner.Id}'s hours: {onCall.Id}";
        }

        return new RouteDecision(target.Id, owner.Id, EscalationOf(target.Id), reason);
    }

    /// <summary>
    /// The department that owns <paramref name="category"/> in <paramref name="area"/> whatever the hour (the one a
    /// console filter means by "this department's problems"), or null when nobody takes it.
    /// </summary>
    public string? OwnerOf(string category, string area) => Owner(category, area)?.Department.Id;

    private (DepartmentConfig Department, string Reason)? Owner(string category, string area)
    {
        var owners = _config.Departments.Where(d => d.Categories.Contains(category, StringComparer.Ordinal)).ToList();
        if (owners.FirstOrDefault(d => d.Areas.Contains(area, StringComparer.Ordinal)) is { } named) return (named, $"{named.Id} owns {category} in {area}");
        if (owners.FirstOrDefault(d => d.Areas.Count == 0) is { } whole) return (whole, $"{whole.Id} owns {category} district-wide");
        if (_config.Routing.Fallback is { } fb && _departments.TryGetValue(fb, out var fallback))
        {
            return (fallback, owners.Count == 0 ? $"no department owns {category}: fallback {fb}" : $"no department covers {category} in {area}: fallback {fb}");
        }

        return null;
    }

    /// <summary>Who is told when a case of <paramref name="department"/> breaches its SLA: its <c>escalate_to</c>, else the fallback (never itself).</summary>
    public string? EscalationOf(string department)
    {
        var up = _departments.TryGetValue(department, out var d) ? d.EscalateTo ?? _config.Routing.Fallback : _config.Routing.Fallback;
        return up == department ? null : up;
    }

    /// <summary>Whether the department is at work at <paramref name="at"/> (no hours: always).</summary>
    public bool IsOpen(string department, DateTimeOffset at) => !_departments.TryGetValue(department, out var d) || IsOpen(d, at);

    private bool IsOpen(DepartmentConfig d, DateTimeOffset at) => d.Hours.Count == 0 || d.Hours.Any(w => w.Contains(at, _config.TimeZone));
}
