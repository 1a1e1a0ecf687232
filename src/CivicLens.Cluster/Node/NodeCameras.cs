using System.Collections.Concurrent;
using CivicLens.Cluster.Hosting;
using CivicLens.Domain.Cameras;
using CivicLens.Domain.Events;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Output;
using CivicLens.Pipeline.Supervision;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Server.Cameras;
using CivicLens.Server.Ingest;

namespace CivicLens.Cluster.Node;

/// <summary>
/// The cameras placed on this node: one supervised runtime each (the same <see cref="CameraSupervisor"/> a single
/// process uses), their events journalled on this node's disk until a hub has stored them, their health queued for
/// the hubs (the latest state per camera wins).
/// </summary>
/// <remarks>
/// With <see cref="ClusterSettings.ControlPlaneOnly"/> (<c>civiclens bench cluster</c> only) a camera is taken, its
/// definition checked against the district and recorded, and its health reported, exactly as above, but no
/// supervisor worker starts: nothing is opened or decoded (<see cref="ControlPlaneCameras"/>).
/// </remarks>
public sealed partial class NodeCameras : IAsyncDisposable
{
    private readonly ClusterSettings _cluster;
    private readonly Func<Task<CivicLensConfig>> _reload;
    private readonly SemaphoreSlim _reading = new(1, 1);
    private CivicLensConfig _district;
    private DateTimeOffset _districtRead;
    private readonly TimeProvider _time;
    private readonly ILogger<NodeCameras> _logger;
    private readonly ConcurrentDictionary<string, CameraHealthChange> _health = new(StringComparer.Ordinal);
    private readonly CameraSupervisor? _supervisor;
    private readonly ControlPlaneCameras? _controlPlane;
    private volatile bool _draining;
    private int _limit = int.MaxValue;

    public NodeCameras(ClusterSettings cluster, AnalysisSettings analysis, CivicLensConfig district, Func<Task<CivicLensConfig>> reload, string journalDirectory, CameraSupervisorOptions supervision,
        ILoggerFactory loggers, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        _cluster = cluster;
        _district = district;
        _reload = reload;
        _time = time;
        _districtRead = time.GetUtcNow();
        _logger = loggers.CreateLogger<NodeCameras>();
        Journal = new EventJournal(journalDirectory, CameraHost.Mapper(district, id => _supervisor?.Find(id)?.Spec.Camera));
        // Control-plane only: no supervisor, so no model is loaded and nothing can decode.
        if (cluster.ControlPlaneOnly) _controlPlane = new ControlPlaneCameras(Report, time);
        else _supervisor = new CameraSupervisor(analysis, district, Journal, new CameraRuntimes(time), supervision, loggers, time, Report);
    }

    /// <summary>Events waiting for a hub, on this node's disk.</summary>
    public EventJournal Journal { get; }

    public string Name => _cluster.Name;

    /// <summary>Cameras this node takes: what it stated, or fewer once it gave cameras back for falling behind.</summary>
    public int Capacity => Math.Min(_cluster.Capacity, Volatile.Read(ref _limit));

    public int Count => _supervisor?.Workers.Count ?? _controlPlane!.Count;

    public bool Draining => _draining;

    public bool IsRunning(string camera) => _supervisor is null ? _controlPlane!.Contains(camera) : _supervisor.Find(camera) is not null;

    /// <summary>The control-plane-only mode's cameras (null when this node decodes its cameras).</summary>
    public ControlPlaneCameras? ControlPlane => _controlPlane;

    /// <summary>Evidence files the journal's events name, on this node until a hub acknowledged them.</summary>
    public string? EvidenceDirectory => _supervisor?.Services.Settings.SnapshotDirectory;

    /// <summary>Originals sealed on this node (with the district's sealing key), here until a hub acknowledged them.</summary>
    public string? SealedDirectory => _supervisor?.Services.Settings.SealedOriginals?.Directory;

    /// <summary>Destroys sealed originals older than their window that no hub took (a hub away for days).</summary>
    public int PurgeSealed() => _supervisor?.Services.Writer.SealedOriginals?.Purge() ?? 0;

    public IReadOnlyCollection<CameraWorker> Workers => _supervisor?.Workers ?? [];

    /// <summary>Starts or updates one camera; refuses when the node is full or being drained (the hub places it elsewhere).</summary>
    public async Task RunAsync(CameraAssignment assignment, string? movedFrom, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (_draining) throw new InvalidOperationException($"node {Name} is being drained");
        var running = IsRunning(assignment.Id);
        if (!running && Count >= Capacity) throw new InvalidOperationException($"node {Name} is full ({Capacity} cameras)");
        CameraSpec spec;
        try
        {
            spec = await SpecAsync(assignment);
        }
        catch (ConfigException ex)
        {
            Report(assignment.Id, new CameraStatus(CameraState.Failed, _time.GetUtcNow(), "its definition no longer fits the district: " + (ex.Errors.Count > 0 ? ex.Errors[0].Message : ex.Message)));
            throw new InvalidOperationException($"camera {assignment.Id} cannot run: {ex.Message}");
        }

        if (!running)
        {
            // Nothing but the stream and its definition moves between nodes: the scene, trackers and open incidents
            // are learned afresh, and the camera's health says so.
            var why = movedFrom is null ? $"starting on node {Name}" : $"moved from node {movedFrom} to {Name}; its scene and open incidents are learned afresh";
            Report(assignment.Id, new CameraStatus(CameraState.Starting, _time.GetUtcNow(), why));
            LogStarting(_logger, assignment.Id, movedFrom ?? "-");
        }

        if (_supervisor is null)
        {
            _controlPlane!.Record(spec, movedFrom is null ? null : $"moved from node {movedFrom} to {Name}");
            return;
        }

        await _supervisor.RunAsync(spec, ct);
        if (!running && movedFrom is not null) await Journal.OnEventsAsync([new EvidencedEvent(Moved(spec.Camera, movedFrom), null)], ct);
    }

    /// <summary>
    /// The event that says a camera moved and what it lost: its scene, trackers and open incidents start afresh here
    /// (an incident open on the old node may be reported again from this one). Its id is fixed by the move.
    /// </summary>
    private RuleEvent Moved(CameraConfig camera, string from)
    {
        var now = _time.GetUtcNow();
        return new RuleEvent
        {
            Id = EventIds.Create(camera.Id, "moved", 0, $"{from}>{Name}", TimeSpan.FromTicks(now.UtcTicks)),
            Kind = "camera.moved",
            Phase = EventPhase.Instant,
            Camera = camera.Id,
            Rule = "health",
            Category = "camera-health",
            Site = camera.Site,
            StreamTime = TimeSpan.Zero,
            At = now,
            Confidence = 1f,
            Detail = $"moved from node {from} to {Name}; its scene, trackers and open incidents are learned afresh",
        };
    }

    public async Task StopAsync(string camera)
    {
        if (_supervisor is null) _controlPlane!.Forget(camera);
        else await _supervisor.StopAsync(camera);
    }

    /// <summary>
    /// This node cannot keep up (it drops frames): stops <paramref name="camera"/>, takes no more than it now carries,
    /// and answers that number (the leader places the camera elsewhere). Its open conditions close with their events.
    /// </summary>
    public async Task<int> ShedAsync(string camera, string reason)
    {
        Volatile.Write(ref _limit, Math.Max(0, Count - 1));
        await StopAsync(camera);
        Report(camera, new CameraStatus(CameraState.Moving, _time.GetUtcNow(), NodeOverloadWatch.MovingReason(Name, reason)));
        return Capacity;
    }

    /// <summary>Stops taking cameras and stops those running (their open conditions close and their events are journalled).</summary>
    public async Task DrainAsync(string reason)
    {
        _draining = true;
        var ids = _controlPlane?.Ids() ?? [.. Workers.Select(w => w.Id)];
        foreach (var id in ids)
        {
            await StopAsync(id);
            Report(id, new CameraStatus(CameraState.Moving, _time.GetUtcNow(), reason));
        }
    }

    /// <summary>Health changes not yet sent, oldest first; what fails to send is put back unless a newer one arrived.</summary>
    public IReadOnlyList<CameraHealthChange> TakeHealth()
    {
        var taken = new List<CameraHealthChange>();
        foreach (var key in _health.Keys)
        {
            if (_health.TryRemove(key, out var change)) taken.Add(change);
        }

        return [.. taken.OrderBy(c => c.At)];
    }

    public void ReturnHealth(IEnumerable<CameraHealthChange> changes)
    {
        foreach (var c in changes) _health.TryAdd(c.Camera, c);
    }

    private void Report(string camera, CameraStatus status) =>
        _health[camera] = new CameraHealthChange(camera, (int)status.State, status.Since, status.Reason);

    /// <summary>
    /// Reads the assignment against the district; a camera naming a site or area this node has not seen yet (the
    /// district changed since the node started) reads the district again, at most every few seconds.
    /// </summary>
    private async Task<CameraSpec> SpecAsync(CameraAssignment a)
    {
        try
        {
            return Spec(a);
        }
        catch (ConfigException) when (_time.GetUtcNow() - _districtRead > TimeSpan.FromSeconds(5))
        {
            await _reading.WaitAsync();
            try
            {
                _district = await _reload();
                _districtRead = _time.GetUtcNow();
            }
            finally
            {
                _reading.Release();
            }

            return Spec(a);
        }
    }

    private CameraSpec Spec(CameraAssignment a)
    {
        var fields = CameraCatalog.Fields(_district, a.Name, a.AreaId, a.SiteId, a.Purpose, a.LegalBasis, a.DepartmentId, a.RetentionDays, a.Latitude,
            a.Longitude, a.Heading, a.FieldOfView, a.Range);
        var camera = ConfigLoader.ParseCamera(a.Id, a.Definition, fields, _district, $"camera {a.Id}");
        return new CameraSpec(camera, a.Source);
    }

    public async ValueTask DisposeAsync()
    {
        if (_controlPlane is not null) await _controlPlane.DisposeAsync();
        if (_supervisor is not null) await _supervisor.DisposeAsync();
        Journal.Dispose();
        _reading.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera} starts here (moved from {From})")]
    private static partial void LogStarting(ILogger logger, string camera, string from);
}
