using System.Collections.Concurrent;
using CivicLens.Cluster.Hosting;
using CivicLens.Domain.Cameras;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Supervision;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Cameras;
using CivicLens.Server.Ingest;

namespace CivicLens.Cluster.Node;

/// <summary>
/// The cameras placed on this node: one supervised runtime each (the same <see cref="CameraSupervisor"/> a single
/// process uses), their events journalled on this node's disk until a hub has stored them, their health queued for
/// the hubs (the latest state per camera wins).
/// </summary>
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
    private readonly CameraSupervisor _supervisor;
    private volatile bool _draining;

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
        _supervisor = new CameraSupervisor(analysis, district, Journal, new CameraRuntimes(time), supervision, loggers, time, Report);
    }

    /// <summary>Events waiting for a hub, on this node's disk.</summary>
    public EventJournal Journal { get; }

    public string Name => _cluster.Name;

    public int Capacity => _cluster.Capacity;

    public int Count => _supervisor.Workers.Count;

    public bool Draining => _draining;

    public bool IsRunning(string camera) => _supervisor.Find(camera) is not null;

    /// <summary>Evidence files the journal's events name, on this node until a hub acknowledged them.</summary>
    public string? EvidenceDirectory => _supervisor.Services.Settings.SnapshotDirectory;

    public IReadOnlyCollection<CameraWorker> Workers => _supervisor.Workers;

    /// <summary>Starts or updates one camera; refuses when the node is full or being drained (the hub places it elsewhere).</summary>
    public async Task RunAsync(CameraAssignment assignment, string? movedFrom, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (_draining) throw new InvalidOperationException($"node {Name} is being drained");
        var running = _supervisor.Find(assignment.Id) is not null;
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

        await _supervisor.RunAsync(spec, ct);
    }

    public async Task StopAsync(string camera) => await _supervisor.StopAsync(camera);

    /// <summary>Stops taking cameras and stops those running (their open conditions close and their events are journalled).</summary>
    public async Task DrainAsync(string reason)
    {
        _draining = true;
        var ids = _supervisor.Workers.Select(w => w.Id).ToList();
        foreach (var id in ids)
        {
            await _supervisor.StopAsync(id);
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
        await _supervisor.DisposeAsync();
        Journal.Dispose();
        _reading.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera} starts here (moved from {From})")]
    private static partial void LogStarting(ILogger logger, string camera, string from);
}
