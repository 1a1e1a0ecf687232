using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline;

/// <summary>
/// When an event happens at a site, every other camera whose zones cover that site stores its view of the same
/// moment (redacted, like all evidence): a parked van seen from the street and from the corner. Requests wait for
/// each camera's next frame and lapse after <see cref="MaxWait"/> (a camera that is down contributes nothing).
/// </summary>
public sealed class SiteEvidence
{
    private Dictionary<string, string[]> _camerasBySite;
    private readonly Dictionary<string, List<Pending>> _pending = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public SiteEvidence(IEnumerable<CameraConfig> cameras) => _camerasBySite = Map(cameras);

    /// <summary>The running cameras changed (the registry added, removed or re-aimed one).</summary>
    public void SetCameras(IEnumerable<CameraConfig> cameras) => Volatile.Write(ref _camerasBySite, Map(cameras));

    private static Dictionary<string, string[]> Map(IEnumerable<CameraConfig> cameras) => cameras
        .SelectMany(c => c.Zones.Select(z => z.Site).Append(c.Site).OfType<string>().Distinct().Select(site => (site, c.Id)))
        .GroupBy(p => p.site, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Select(p => p.Id).Distinct().ToArray(), StringComparer.Ordinal);

    public static TimeSpan MaxWait { get; } = TimeSpan.FromSeconds(2);

    public readonly record struct Pending(Guid EventId, string Kind, string FromCamera, DateTimeOffset At);

    /// <summary>The cameras (other than the event's own) that will be asked for their view of an event's site.</summary>
    public IReadOnlyList<string> CamerasFor(RuleEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Site is not null && Volatile.Read(ref _camerasBySite).TryGetValue(e.Site, out var cams) ? cams.Where(c => c != e.Camera).ToArray() : [];
    }

    public void Request(RuleEvent e)
    {
        foreach (var camera in CamerasFor(e))
        {
            lock (_lock)
            {
                if (!_pending.TryGetValue(camera, out var list)) _pending[camera] = list = [];
                list.Add(new Pending(e.Id, e.Kind, e.Camera, e.At));
            }
        }
    }

    /// <summary>Takes the requests waiting for <paramref name="camera"/>, dropping those older than <see cref="MaxWait"/>.</summary>
    public bool TryTake(string camera, DateTimeOffset now, List<Pending> into)
    {
        lock (_lock)
        {
            if (!_pending.TryGetValue(camera, out var list) || list.Count == 0) return false;
            foreach (var r in list)
            {
                if (now - r.At <= MaxWait) into.Add(r);
            }

            list.Clear();
        }

        return into.Count > 0;
    }
}
