using CivicLens.Domain.Detection;
using CivicLens.Domain.Tracking;

namespace CivicLens.Pipeline;

/// <summary>Tracker settings derived from a model's labels.</summary>
public static class TrackerDefaults
{
    private static readonly HashSet<string> FourWheelers = new(StringComparer.OrdinalIgnoreCase)
    {
        "car", "truck", "bus", "van", "vehicle", "lorry",
    };

    /// <summary>
    /// Four-wheeled vehicle labels share one matching group: NanoDet calls the same parked van "truck" in one frame
    /// and "bus" in the next. Everything else matches only its own class.
    /// </summary>
    public static TrackerOptions For(ModelLabels labels, TrackerOptions? baseOptions = null)
    {
        var groups = new int[labels.Count];
        var vehicleGroup = -1;
        for (var i = 0; i < labels.Count; i++)
        {
            if (FourWheelers.Contains(labels[i]))
            {
                if (vehicleGroup < 0) vehicleGroup = i;
                groups[i] = vehicleGroup;
            }
            else
            {
                groups[i] = i;
            }
        }

        return (baseOptions ?? new TrackerOptions { HighScoreThreshold = 0.4f, NewTrackThreshold = 0.4f }) with { ClassGroups = groups };
    }
}
