namespace CivicLens.Domain.Detection;

/// <summary>
/// Groups of labels that privacy and rules treat alike. Matching is by label name so any model
/// whose labels use these common names works.
/// </summary>
public static class ObjectKinds
{
    /// <summary>Labels whose boxes hold a person: their head region is always redacted.</summary>
    public static IReadOnlySet<string> People { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "person", "pedestrian", "people", "worker", "rider",
    };

    /// <summary>Labels whose boxes may carry a licence plate: their plate band is always redacted.</summary>
    public static IReadOnlySet<string> PlateCarriers { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "car", "truck", "bus", "motorcycle", "van", "vehicle", "motorbike", "lorry", "trailer",
    };

    public static IReadOnlySet<string> Vehicles { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "car", "truck", "bus", "motorcycle", "van", "vehicle", "motorbike", "lorry", "trailer", "bicycle", "train",
    };
}
