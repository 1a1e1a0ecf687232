using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Cluster.Node;

/// <summary>
/// Judges whether this node keeps up with its cameras from their frame counters: a node that states more capacity
/// than it has falls behind, and its pipelines drop frames (never events). Sustained drops (a share of the frames
/// read, over several windows in a row) mean one camera must go: the one that dropped most in the last window.
/// </summary>
public sealed class OverloadJudge
{
    /// <summary>The share of frames dropped that counts as falling behind.</summary>
    public const double DropShare = 0.05;

    /// <summary>Windows in a row that must fall behind before a camera is given back (a short burst is not overload).</summary>
    public const int Windows = 3;

    /// <summary>Frames a window must read to be judged at all (a node starting its cameras reads few).</summary>
    public const long MinFrames = 20;

    private readonly Dictionary<string, (long Read, long Dropped)> _last = new(StringComparer.Ordinal);
    private int _behind;

    /// <summary>One window's counters (per camera, as the pipelines count them since their run began); a camera to give back, or null.</summary>
    public (string Camera, string Reason)? Judge(IEnumerable<(string Camera, long Read, long Dropped)> counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        long read = 0, dropped = 0;
        string? worst = null;
        long worstDropped = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (camera, r, d) in counters)
        {
            seen.Add(camera);
            // A run that restarted counts from zero again: its counters are this window's.
            var (lastRead, lastDropped) = _last.TryGetValue(camera, out var l) && l.Read <= r && l.Dropped <= d ? l : (0, 0);
            _last[camera] = (r, d);
            read += r - lastRead;
            dropped += d - lastDropped;
            if (d - lastDropped > worstDropped)
            {
                worst = camera;
                worstDropped = d - lastDropped;
            }
        }

        foreach (var gone in _last.Keys.Where(k => !seen.Contains(k)).ToList()) _last.Remove(gone);
        if (read < MinFrames) return null;
        var share = (double)dropped / read;
        _behind = share >= DropShare ? _behind + 1 : 0;
        if (_behind < Windows || worst is null) return null;
        _behind = 0;
        return (worst, string.Create(CultureInfo.InvariantCulture, $"it dropped {share * 100:0}% of its frames, {Windows} windows in a row"));
    }
}

/// <summary>
/// Watches this node's pipelines every <see cref="Interval"/> and, when it cannot keep up, gives a camera back to the
/// leader (counted and logged as a warning: the node states more capacity than it has, and its operators must know)
/// rather than dropping frames until events are missed.
/// </summary>
public sealed partial class NodeOverloadWatch(NodeCameras cameras, IGrainFactory grains, Orleans.Runtime.ILocalSiloDetails silo, ILogger<NodeOverloadWatch> logger)
    : BackgroundService
{
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(10);

    private static readonly Meter Meter = new("CivicLens.Cluster.Node");
    private static readonly Counter<long> Shed = Meter.CreateCounter<long>("civiclens.node.cameras_shed", "{camera}", "Cameras a node gave back because it could not keep up");

    private readonly OverloadJudge _judge = new();

    /// <summary>What a given-back camera's health says, on its node and from the leader that moves it.</summary>
    public static string MovingReason(string node, string reason) => $"node {node} could not keep up ({reason}); moving to another node so no event is lost";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (cameras.Draining) continue;
            var verdict = _judge.Judge(cameras.Workers.Select(w => (w.Id, w.Counters.Read, w.Counters.Dropped)).ToList());
            if (verdict is not { } shed) continue;
            var capacity = await cameras.ShedAsync(shed.Camera, shed.Reason);
            Shed.Add(1);
            LogShed(logger, shed.Camera, cameras.Name, shed.Reason, capacity);
            try
            {
                await grains.GetGrain<IDistrictGrain>(ClusterRoles.DistrictKey).NodeShedAsync(silo.SiloAddress.ToParsableString(), shed.Camera, capacity, shed.Reason)
                    .WaitAsync(TimeSpan.FromSeconds(10), stoppingToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
            {
                // The leader's next sweep finds the camera stopped and this node full: it places it elsewhere then.
                LogLeaderNotTold(logger, shed.Camera, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} cannot keep up and gave camera {Camera} back: {Reason}; it takes at most {Capacity} cameras until it restarts (its --capacity is more than this machine carries)")]
    private static partial void LogShed(ILogger logger, string camera, string node, string reason, int capacity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The leader was not told that camera {Camera} was given back: {Error}")]
    private static partial void LogLeaderNotTold(ILogger logger, string camera, string error);
}
