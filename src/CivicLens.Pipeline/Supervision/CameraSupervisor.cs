using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CivicLens.Domain.Cameras;
using CivicLens.Domain.Frames;
using CivicLens.Pipeline.Output;
using CivicLens.Rules.Engine;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline.Supervision;

/// <summary>How cameras are retried and (for tests) observed.</summary>
public sealed record CameraSupervisorOptions
{
    /// <summary>The first retry after a failure; each further one waits twice as long, up to <see cref="MaxRetry"/>.</summary>
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A run that lasted this long was healthy: its failure starts the backoff again from <see cref="FirstRetry"/>.</summary>
    public TimeSpan HealthyAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Wraps each camera's frame observer (fault injection in tests); null in production.</summary>
    public Func<string, IPipelineObserver, IPipelineObserver>? WrapObserver { get; init; }
}

/// <summary>
/// Runs the cameras this process is given, one <see cref="CameraWorker"/> each, and keeps them in line with the
/// registry: <see cref="ApplyAsync"/> starts the new, stops the removed and hands edits to the running. State changes
/// are reported through the callback (the registry stores them as changes).
/// </summary>
public sealed class CameraSupervisor : IRuleEventSink, IAsyncDisposable
{
    private readonly Meter _meter = new("CivicLens.Cameras");

    private readonly ConcurrentDictionary<string, CameraWorker> _workers = new(StringComparer.Ordinal);
    private readonly AnalysisServices _services;
    private readonly CameraRuntimes _runtimes;
    private readonly CameraSupervisorOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly Action<string, CameraStatus> _onState;
    private readonly IRuleEventSink _sink;
    private readonly SemaphoreSlim _apply = new(1, 1);

    /// <summary>
    /// Builds the shared analysis services around this supervisor (events pass through it to <paramref name="sink"/>, so
    /// camera health events also move the camera's state).
    /// </summary>
    public CameraSupervisor(AnalysisSettings settings, Rules.Configuration.CivicLensConfig district, IRuleEventSink sink, CameraRuntimes runtimes,
        CameraSupervisorOptions options, ILoggerFactory loggers, TimeProvider time, Action<string, CameraStatus> onState)
    {
        _sink = sink;
        _runtimes = runtimes;
        _options = options;
        _loggers = loggers;
        _time = time;
        _onState = onState;
        _services = AnalysisServices.Create(settings, district, this, OnSourceHealth, loggers, time);
        _meter.CreateObservableCounter("civiclens.camera.frames_read", () => Measure(w => w.Counters.Read), "{frame}", "Frames decoded, per camera (current run)");
        _meter.CreateObservableCounter("civiclens.camera.frames_analysed", () => Measure(w => w.Counters.Analysed), "{frame}", "Frames analysed, per camera (current run)");
        _meter.CreateObservableCounter("civiclens.camera.frames_dropped", () => Measure(w => w.Counters.Dropped), "{frame}", "Frames dropped because analysis fell behind, per camera (current run)");
        _meter.CreateObservableCounter("civiclens.camera.restarts", () => Measure(w => w.Restarts), "{restart}", "Times a camera's analysis was restarted after a failure or a lost stream");
        _meter.CreateObservableGauge("civiclens.cameras.running", () => StateCounts(), "{camera}", "Cameras this process runs, by state");
        _meter.CreateObservableGauge("civiclens.detector.queue_depth", () => (long)_services.Detector.QueueDepth, "{frame}", "Frames waiting for the shared detector");
    }

    public AnalysisServices Services => _services;

    public IReadOnlyCollection<CameraWorker> Workers => [.. _workers.Values];

    public CameraWorker? Find(string id) => _workers.TryGetValue(id, out var w) ? w : null;

    /// <summary>
    /// Makes the running set exactly <paramref name="desired"/>: new cameras start, missing ones stop (their open
    /// conditions close), changed ones take their edit. Cameras whose spec did not change are not touched.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyCollection<CameraSpec> desired, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(desired);
        await _apply.WaitAsync(ct);
        try
        {
            var wanted = desired.ToDictionary(s => s.Id, StringComparer.Ordinal);
            _services.SiteEvidence.SetCameras(desired.Select(d => d.Camera));
            var stopping = _workers.Values.Where(w => !wanted.ContainsKey(w.Id)).ToList();
            foreach (var w in stopping) _workers.TryRemove(w.Id, out _);
            await Task.WhenAll(stopping.Select(w => w.DisposeAsync().AsTask()));
            foreach (var spec in desired) StartOrUpdate(spec);
        }
        finally
        {
            _apply.Release();
        }
    }

    /// <summary>Starts one camera, or hands a running one its edit (a cluster node runs the cameras placed on it one by one).</summary>
    public async Task RunAsync(CameraSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await _apply.WaitAsync(ct);
        try
        {
            // The site's other cameras know this one (or its edit) before its first frame.
            _services.SiteEvidence.SetCameras(_workers.Values.Where(w => w.Id != spec.Id).Select(w => w.Spec.Camera).Append(spec.Camera));
            StartOrUpdate(spec);
        }
        finally
        {
            _apply.Release();
        }
    }

    /// <summary>Stops one camera now (disabled, retired); its analysis ends before this returns.</summary>
    public async Task StopAsync(string id)
    {
        await _apply.WaitAsync();
        try
        {
            if (_workers.TryRemove(id, out var w))
            {
                await w.DisposeAsync();
                _services.SiteEvidence.SetCameras(_workers.Values.Select(x => x.Spec.Camera));
            }
        }
        finally
        {
            _apply.Release();
        }
    }

    /// <summary>Hands a running camera its edit, or starts it; the caller holds <see cref="_apply"/>.</summary>
    private void StartOrUpdate(CameraSpec spec)
    {
        if (_workers.TryGetValue(spec.Id, out var running))
        {
            if (!ReferenceEquals(running.Spec, spec) && running.Spec != spec) running.Update(spec);
            return;
        }

        var worker = new CameraWorker(spec, _services, _runtimes, _options, _loggers, _time, _onState);
        _workers[spec.Id] = worker;
        worker.Start();
    }

    async ValueTask IRuleEventSink.OnEventsAsync(IReadOnlyList<EvidencedEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            if (e.Event.Kind.StartsWith("camera.", StringComparison.Ordinal) && Find(e.Event.Camera) is { } w) w.OnHealthEvent(e.Event.Kind, e.Event.Phase, e.Event.Detail);
        }

        await _sink.OnEventsAsync(events, cancellationToken);
    }

    ValueTask IRuleEventSink.OnViewsAsync(IReadOnlyList<SiteView> views, CancellationToken cancellationToken) => _sink.OnViewsAsync(views, cancellationToken);

    private void OnSourceHealth(SourceHealth health)
    {
        if (Find(health.SourceName) is { } w) w.SetSource(health.State, health.Reason);
    }

    private IEnumerable<Measurement<long>> Measure(Func<CameraWorker, long> value)
    {
        foreach (var w in _workers.Values) yield return new Measurement<long>(value(w), new KeyValuePair<string, object?>("camera", w.Id));
    }

    private IEnumerable<Measurement<long>> StateCounts()
    {
        var counts = new long[CameraStates.All.Count];
        foreach (var w in _workers.Values) counts[(int)w.Status.State]++;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0) yield return new Measurement<long>(counts[i], new KeyValuePair<string, object?>("state", CameraStates.All[i]));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _apply.WaitAsync();
        try
        {
            var all = _workers.Values.ToList();
            _workers.Clear();
            await Task.WhenAll(all.Select(w => w.DisposeAsync().AsTask()));
        }
        finally
        {
            _apply.Release();
        }

        _meter.Dispose();
        await _services.DisposeAsync();
        _apply.Dispose();
    }
}
