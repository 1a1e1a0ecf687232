using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;
using ObjectDetection = CivicLens.Domain.Detection.Detection;

namespace CivicLens.Domain.Tests.Tracking;

/// <summary>Synthetic, deterministic footage for the tracker: boxes on known paths, time in seconds.</summary>
internal static class Scene
{
    public const int Person = 0;
    public const int Car = 2;

    public static BoxF Box(double cx, double cy, double w, double h) =>
        new((float)(cx - w / 2), (float)(cy - h / 2), (float)w, (float)h);

    public static ObjectDetection Det(BoxF box, float score = 0.9f, int classId = Person) => new(box, classId, score);

    public static TimeSpan Seconds(double s) => TimeSpan.FromTicks((long)Math.Round(s * TimeSpan.TicksPerSecond));

    /// <summary>Runs one frame and returns a copy of its output.</summary>
    public static TrackedObject[] Step(this ObjectTracker tracker, double seconds, params ObjectDetection[] detections)
    {
        var output = new List<TrackedObject>();
        tracker.Update(detections, Seconds(seconds), output);
        return [.. output];
    }

    /// <summary>Uniform jitter in [-amplitude, amplitude] on every side of a box.</summary>
    public static BoxF Jitter(this BoxF box, Random random, double amplitude)
    {
        double J() => (random.NextDouble() * 2 - 1) * amplitude;
        return new BoxF((float)(box.X + J()), (float)(box.Y + J()), (float)(box.Width + J()), (float)(box.Height + J()));
    }
}
