using CivicLens.Domain.Geometry;

namespace CivicLens.Rules.Configuration;

/// <summary>
/// The district's analytics configuration: sites, cameras with their zones, lines and rules, and signals.
/// Loaded and validated by <see cref="ConfigLoader"/>; every key is documented in docs/configuration/.
/// </summary>
public sealed record CivicLensConfig
{
    /// <summary>IANA time zone that rule schedules are written in.</summary>
    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    public IReadOnlyList<SiteConfig> Sites { get; init; } = [];

    public IReadOnlyList<CameraConfig> Cameras { get; init; } = [];

    public IReadOnlyList<SignalConfig> Signals { get; init; } = [];

    /// <summary>The district the cameras belong to, with its outline; null when the file only holds rules.</summary>
    public DistrictConfig? District { get; init; }

    public IReadOnlyList<AreaConfig> Areas { get; init; } = [];

    public IReadOnlyList<DepartmentConfig> Departments { get; init; } = [];

    /// <summary>Problem categories; when the file lists none, each department's categories with default SLAs.</summary>
    public IReadOnlyList<CategoryConfig> Categories { get; init; } = [];

    public RoutingConfig Routing { get; init; } = new();

    /// <summary>Where the configuration came from (file path), for messages.</summary>
    public string? SourceFile { get; init; }

    public CameraConfig? FindCamera(string id) => Cameras.FirstOrDefault(c => string.Equals(c.Id, id, StringComparison.Ordinal));
}

/// <summary>A place the city manages (a construction site, a station entrance, a market).</summary>
public sealed record SiteConfig(string Id, string Name, string? Kind)
{
    /// <summary>The area it lies in (what area scoping and routing use).</summary>
    public string? Area { get; init; }

    public IReadOnlyList<GeoPoint>? Outline { get; init; }

    /// <summary>Free attributes (permit number, contractor, opening hours).</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
}

/// <summary>A WGS84 position, GeoJSON order.</summary>
public readonly record struct GeoPoint(double Longitude, double Latitude);

/// <summary>The district: its name and outline.</summary>
public sealed record DistrictConfig(string Id, string Name, IReadOnlyList<GeoPoint> Outline);

/// <summary>An area of the district (a ward, a neighbourhood): the unit of area scoping.</summary>
public sealed record AreaConfig(string Id, string Name, IReadOnlyList<GeoPoint> Outline);

/// <summary>A department: who it is, how to reach it, the categories it owns.</summary>
public sealed record DepartmentConfig(string Id, string Name, string? Contact, IReadOnlyList<string> Categories)
{
    /// <summary>The areas it covers; empty: the whole district.</summary>
    public IReadOnlyList<string> Areas { get; init; } = [];

    /// <summary>Working hours; empty: always at work.</summary>
    public IReadOnlyList<ScheduleWindow> Hours { get; init; } = [];

    /// <summary>Who takes new cases outside <see cref="Hours"/>; null: the department itself, when it opens.</summary>
    public string? AfterHours { get; init; }

    /// <summary>Who is told when one of its cases breaches its SLA; null: the routing fallback.</summary>
    public string? EscalateTo { get; init; }

    /// <summary>How the department is told of its cases.</summary>
    public IReadOnlyList<DeliveryConfig> Delivery { get; init; } = [];
}

/// <summary>One way a department is told of its cases: <c>email</c> (an address), <c>webhook</c> (a <c>--webhook</c> name), <c>open311</c> (a base URL).</summary>
public sealed record DeliveryConfig(string Kind, string Target, string? ServiceCode = null, string? ApiKeyEnv = null);

/// <summary>A kind of problem: what citizens pick on the report form, what rules name, what SLAs attach to.</summary>
public sealed record CategoryConfig(string Id, string Name)
{
    public string? Description { get; init; }

    /// <summary>A heading to group categories on the form and in Open311 (<c>group</c>).</summary>
    public string? Group { get; init; }

    /// <summary>Citizens may report it without an account (when public reports are on).</summary>
    public bool Public { get; init; } = true;

    public TimeSpan AcknowledgeWithin { get; init; } = TimeSpan.FromHours(8);

    public TimeSpan FixWithin { get; init; } = TimeSpan.FromHours(72);

    /// <summary>Two problems of this category closer than this (metres) and <see cref="DuplicateWindow"/> are likely one.</summary>
    public double DuplicateRadius { get; init; } = 50;

    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromHours(72);

    /// <summary>When a camera covers the site, a fixed case waits for the camera to confirm the problem is gone.</summary>
    public bool VerifyWithCamera { get; init; } = true;

    /// <summary>What a report of this category is asked beyond the description (Open311 service definition attributes).</summary>
    public IReadOnlyList<District.Categories.AttributeDefinition> Attributes { get; init; } = [];
}

/// <summary>District-wide routing settings.</summary>
public sealed record RoutingConfig
{
    /// <summary>The department that takes what no department owns in an area (required when departments are listed).</summary>
    public string? Fallback { get; init; }

    /// <summary>Citizens may report without an account (off by default: a city turns it on).</summary>
    public bool PublicReports { get; init; }

    /// <summary>A reported pin farther than this (metres) from where the photo says it was taken is flagged for the operator.</summary>
    public double PhotoDistanceWarning { get; init; } = 500;
}

/// <summary>Where a camera stands and what it sees, for the map's field-of-view wedge.</summary>
public sealed record CameraPlacement(GeoPoint Location, double? Heading, double? FieldOfView, double? Range);

public sealed record CameraConfig
{
    public required string Id { get; init; }

    /// <summary>File, rtsp:// or http(s):// source; optional when the source is given on the command line.</summary>
    public string? Source { get; init; }

    /// <summary>The resolution zones and lines are drawn in. A stream of another size is scaled when its aspect matches, otherwise rules pause.</summary>
    public required int Width { get; init; }

    public required int Height { get; init; }

    /// <summary>Default site for this camera's zones.</summary>
    public string? Site { get; init; }

    /// <summary>Display name (defaults to the id).</summary>
    public string? Name { get; init; }

    /// <summary>The area it belongs to (else its site's area).</summary>
    public string? Area { get; init; }

    public CameraPlacement? Placement { get; init; }

    public IReadOnlyList<ZoneConfig> Zones { get; init; } = [];

    public IReadOnlyList<LineConfig> Lines { get; init; } = [];

    public IReadOnlyList<RuleConfig> Rules { get; init; } = [];

    /// <summary>Areas always blacked out before detection and storage (windows of homes, private gardens).</summary>
    public IReadOnlyList<ZoneConfig> PrivacyMasks { get; init; } = [];

    public HealthConfig Health { get; init; } = new();

    /// <summary>Why the camera exists (shown on the public transparency register). Required before it may run.</summary>
    public string? Purpose { get; init; }

    /// <summary>The law or decision that allows it.</summary>
    public string? LegalBasis { get; init; }

    /// <summary>The department responsible for it and its data.</summary>
    public string? Department { get; init; }

    /// <summary>How long its redacted evidence is kept.</summary>
    public TimeSpan? Retention { get; init; }

    /// <summary>Where the camera was written, for errors found after loading.</summary>
    public ConfigLocation? Location { get; init; }

    /// <summary>
    /// Purpose before power: what a camera lacks before it may run (purpose, legal basis, responsible department,
    /// retention), as located errors; empty when it may run.
    /// </summary>
    public IReadOnlyList<ConfigError> MissingAccountability()
    {
        var at = Location ?? new ConfigLocation("config", 0, 0, $"cameras[{Id}]");
        var missing = new List<ConfigError>();
        void Need(bool present, string key, string what)
        {
            if (!present) missing.Add(at.Error(key, $"camera '{Id}' cannot run without {what} (purpose before power: see docs/privacy.md)"));
        }

        Need(!string.IsNullOrWhiteSpace(Purpose), "purpose", "a recorded purpose");
        Need(!string.IsNullOrWhiteSpace(LegalBasis), "legal_basis", "a legal basis");
        Need(!string.IsNullOrWhiteSpace(Department), "department", "a responsible department");
        Need(Retention is not null, "retention", "a retention period for its evidence");
        return missing;
    }
}

/// <summary>A named polygon in the camera's pixels; objects are inside when their ground point (bottom centre) is.</summary>
public sealed record ZoneConfig(string Id, Polygon Polygon, string? Site);

/// <summary>
/// A counting line from <see cref="From"/> to <see cref="To"/>. Crossings towards the side holding
/// <see cref="InPoint"/> are "in", the others "out".
/// </summary>
public sealed record LineConfig(string Id, PointF From, PointF To, PointF InPoint, string? Site);

/// <summary>When a camera counts as offline and how tampering is judged.</summary>
public sealed record HealthConfig
{
    /// <summary>A source that stays unreadable this long raises <c>camera.offline</c> (shorter blips are only counted).</summary>
    public TimeSpan OfflineAfter { get; init; } = TimeSpan.FromSeconds(10);

    public bool Tamper { get; init; } = true;

    /// <summary>A tamper condition must last this long before it is reported.</summary>
    public TimeSpan TamperAfter { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>A signal (e.g. a pedestrian light) whose state rules read: from a fixed cycle, or pushed from outside.</summary>
public sealed record SignalConfig
{
    public required string Id { get; init; }

    /// <summary>Cycle length for a scheduled signal; null for an external one.</summary>
    public TimeSpan? Cycle { get; init; }

    /// <summary>Red phases inside the cycle, as offsets from the cycle start.</summary>
    public IReadOnlyList<(TimeSpan From, TimeSpan To)> Red { get; init; } = [];

    /// <summary>Offset of the cycle start from the stream start, or from midnight with <see cref="WallClock"/>.</summary>
    public TimeSpan Offset { get; init; }

    /// <summary>
    /// The cycle runs on the wall clock (local midnight in the configuration's time zone plus <see cref="Offset"/>),
    /// as a fixed-time controller on a live camera does; otherwise on stream time (recorded footage).
    /// </summary>
    public bool WallClock { get; init; }

    /// <summary>An external signal not updated for this long is unknown: rules reading it pause and report degraded.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(5);

    public bool IsExternal => Cycle is null;
}

/// <summary>A weekly time window in the configuration's time zone; <see cref="To"/> before <see cref="From"/> spans midnight.</summary>
public sealed record ScheduleWindow(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To)
{
    public bool Contains(DateTimeOffset at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        var time = TimeOnly.FromDateTime(local.DateTime);
        if (From <= To) return Days.Contains(local.DayOfWeek) && time >= From && time < To;
        // Overnight: the part after midnight belongs to the previous day's window.
        return (Days.Contains(local.DayOfWeek) && time >= From) || (Days.Contains(local.AddDays(-1).DayOfWeek) && time < To);
    }
}
