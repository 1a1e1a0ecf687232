namespace CivicLens.Server.Transparency;

/// <summary>What each rule type does, in words a passer-by understands, and what no camera ever does.</summary>
public static class AnalyticsText
{
    private static readonly Dictionary<string, string> Descriptions = new(StringComparer.Ordinal)
    {
        ["zone-entry"] = "notices when a person or vehicle enters a marked area where they should not be (for example a cordoned works area)",
        ["stationary-vehicle"] = "detects vehicles stopped where stopping is not allowed",
        ["occupancy"] = "counts how many people are in an area at once, to warn of crowding",
        ["line-crossing"] = "counts people, bicycles or vehicles passing a line, by direction, as totals per interval",
        ["scene-change"] = "notices objects left behind or changes to a place (for example dumped waste or posters)",
        ["red-crossing"] = "notices a person stepping onto a crossing while the pedestrian signal is red",
        ["ppe"] = "checks that people in a construction site wear the required protective equipment (helmet, high-visibility vest)",
    };

    /// <summary>Stated on every page, whatever a camera runs.</summary>
    public static IReadOnlyList<string> NeverDone { get; } =
    [
        "no face recognition",
        "no identification of any person",
        "no tracking of a person across cameras or over time",
        "no licence-plate reading",
        "no estimation of age, gender, ethnicity or emotion",
        "no sound recording",
        "no storage of raw video",
    ];

    public static string Describe(string type) =>
        Descriptions.TryGetValue(type, out var text) ? text : $"runs the \u201c{type}\u201d analysis (counts or notices a situation; never identifies anyone)";

    /// <summary>The comma-separated rule types stored on a camera, in a stable order, without duplicates.</summary>
    public static IReadOnlyList<string> Split(string? analytics) =>
        string.IsNullOrWhiteSpace(analytics)
            ? []
            : analytics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
}
