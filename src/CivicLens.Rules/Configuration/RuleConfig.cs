namespace CivicLens.Rules.Configuration;

/// <summary>What every rule has: which objects it looks at, when it is active, how often it may fire.</summary>
public abstract record RuleConfig
{
    public required string Id { get; init; }

    /// <summary>The <c>type:</c> key in YAML.</summary>
    public abstract string Type { get; }

    /// <summary>Label names the rule considers (empty: the rule type's default).</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>Tracks scoring below this are ignored by the rule.</summary>
    public float MinScore { get; init; } = 0.3f;

    /// <summary>Minimum box height and width in the camera's configured pixels (far specks are not actionable).</summary>
    public float MinHeight { get; init; }

    public float MinWidth { get; init; }

    /// <summary>When the rule is active; empty means always.</summary>
    public IReadOnlyList<ScheduleWindow> Schedule { get; init; } = [];

    /// <summary>After an event starts, the same rule (and zone or line) does not start another for this long.</summary>
    public TimeSpan Cooldown { get; init; }

    /// <summary>Routing category for departments (e.g. <c>illegal-parking</c>); defaults to the rule type.</summary>
    public string? Category { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>Where the rule was written (for errors found after loading, e.g. against the model's labels).</summary>
    public ConfigLocation? Location { get; init; }

    /// <summary>The classes this rule type considers when <see cref="Classes"/> is empty.</summary>
    public abstract IReadOnlyList<string> DefaultClasses { get; }

    public IReadOnlyList<string> EffectiveClasses => Classes.Count > 0 ? Classes : DefaultClasses;
}

/// <summary>
/// An object enters a zone (e.g. a cordoned works area). With <see cref="Dwell"/> it must stay that long first;
/// dwell applies to vehicles and objects only, never to people (they are counted, not followed).
/// </summary>
public sealed record ZoneEntryRuleConfig : RuleConfig
{
    public const string TypeName = "zone-entry";

    public override string Type => TypeName;

    public required string Zone { get; init; }

    /// <summary>Time inside before the event: zero reports the entry itself (after <see cref="Settle"/>).</summary>
    public TimeSpan Dwell { get; init; }

    /// <summary>An object must be seen inside this long to count as entered (filters a box edge grazing the zone).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(0.5);

    public override IReadOnlyList<string> DefaultClasses { get; } = ["person", "car", "truck", "bus", "motorcycle", "bicycle"];
}

/// <summary>A vehicle stays still in a no-stopping zone for longer than <see cref="After"/> (illegal parking).</summary>
public sealed record StationaryVehicleRuleConfig : RuleConfig
{
    public const string TypeName = "stationary-vehicle";

    public override string Type => TypeName;

    public required string Zone { get; init; }

    public TimeSpan After { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A vehicle counts as still while its box centre moves less than this fraction of its box diagonal.</summary>
    public float MaxDrift { get; init; } = 0.25f;

    /// <summary>How long a still vehicle may be hidden (passers-by, a bus) before its timer is given up.</summary>
    public TimeSpan OcclusionGrace { get; init; } = TimeSpan.FromSeconds(15);

    public override IReadOnlyList<string> DefaultClasses { get; } = ["car", "truck", "bus", "motorcycle"];
}

/// <summary>The count of a class in a zone stays at or above <see cref="Threshold"/> for <see cref="For"/> (crowding).</summary>
public sealed record OccupancyRuleConfig : RuleConfig
{
    public const string TypeName = "occupancy";

    public override string Type => TypeName;

    public required string Zone { get; init; }

    public required int Threshold { get; init; }

    public TimeSpan For { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The condition ends once the count has stayed below the threshold this long.</summary>
    public TimeSpan ClearAfter { get; init; } = TimeSpan.FromSeconds(5);

    public override IReadOnlyList<string> DefaultClasses { get; } = ["person"];
}

public enum CrossingDirection
{
    Both,
    In,
    Out,
}

/// <summary>Objects crossing a line: one event per crossing and counts per <see cref="Interval"/> (flows).</summary>
public sealed record LineCrossingRuleConfig : RuleConfig
{
    public const string TypeName = "line-crossing";

    public override string Type => TypeName;

    public required string Line { get; init; }

    public CrossingDirection Direction { get; init; } = CrossingDirection.Both;

    /// <summary>Length of the counting interval reported as <c>line.counts</c>.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Also report each crossing as its own event (off: counts only).</summary>
    public bool EachCrossing { get; init; } = true;

    public override IReadOnlyList<string> DefaultClasses { get; } = ["person", "bicycle", "car", "truck", "bus", "motorcycle"];
}

/// <summary>A person inside a crosswalk zone while its signal is red.</summary>
public sealed record RedCrossingRuleConfig : RuleConfig
{
    public const string TypeName = "red-crossing";

    public override string Type => TypeName;

    public required string Zone { get; init; }

    public required string Signal { get; init; }

    /// <summary>Time inside the crosswalk during red before it counts (someone finishing a crossing as the light turns is not one).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Red must have lasted this long before a person stepping in counts.</summary>
    public TimeSpan RedGrace { get; init; } = TimeSpan.FromSeconds(2);

    public override IReadOnlyList<string> DefaultClasses { get; } = ["person"];
}

/// <summary>
/// Personal protective equipment on a site: a person whose head or torso shows no required item for <see cref="For"/>.
/// Needs a detector whose labels include <see cref="Person"/> and every label in <see cref="Require"/>; refuses to start otherwise.
/// </summary>
public sealed record PpeRuleConfig : RuleConfig
{
    public const string TypeName = "ppe";

    public override string Type => TypeName;

    /// <summary>Optional zone (e.g. the site's fence line); the whole frame when null.</summary>
    public string? Zone { get; init; }

    /// <summary>Label names of required items, e.g. <c>helmet</c>, <c>vest</c>.</summary>
    public required IReadOnlyList<string> Require { get; init; }

    /// <summary>Label name of people in the configured model.</summary>
    public string Person { get; init; } = "person";

    /// <summary>Labels that mean an item is missing (e.g. <c>head</c>, <c>no-helmet</c>), used when the model has them.</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];

    public TimeSpan For { get; init; } = TimeSpan.FromSeconds(3);

    public override IReadOnlyList<string> DefaultClasses => [Person];
}

/// <summary>
/// A lasting change in a zone against the learned background that no tracked object explains:
/// dumped waste, a left object, a new poster. The same mechanism confirms a reported problem has gone.
/// </summary>
public sealed record SceneChangeRuleConfig : RuleConfig
{
    public const string TypeName = "scene-change";

    public override string Type => TypeName;

    public required string Zone { get; init; }

    /// <summary>The change must last this long before it is reported.</summary>
    public TimeSpan After { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Fraction of the zone's area that must have changed.</summary>
    public float MinChangedFraction { get; init; } = 0.01f;

    /// <summary>Per-pixel grey-level difference that counts as changed.</summary>
    public int PixelThreshold { get; init; } = 28;

    /// <summary>Time to learn the empty scene before the rule reports anything.</summary>
    public TimeSpan Learn { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the zone must look like the clean reference kept when the change started, with no tracked object over
    /// it, before the change ends <c>cleared</c> (what confirms a fix). Stream time, counted only while it is seen.
    /// </summary>
    public TimeSpan ClearAfter { get; init; } = TimeSpan.FromSeconds(60);

    public override IReadOnlyList<string> DefaultClasses { get; } = [];
}
