using CivicLens.Domain.Events;
using CivicLens.Domain.Frames;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Health;

/// <summary>
/// Turns a source's health transitions into events: <c>camera.offline</c> once a camera has been unreadable for
/// <see cref="HealthConfig.OfflineAfter"/> (shorter blips are only counted), and <c>camera.online</c> with the
/// outage's duration when frames flow again. A timer on the <see cref="TimeProvider"/> raises the offline event
/// even though no frame arrives; tests drive it with a fake clock. Thread-safe.
/// </summary>
public sealed class CameraHealthMonitor : IDisposable
{
    private readonly string _camera;
    private readonly string? _site;
    private readonly HealthConfig _health;
    private readonly TimeProvider _time;
    private readonly Action<RuleEvent> _emit;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private DateTimeOffset? _downSince;
    private string? _reason;
    private Guid? _incident;
    private bool _disposed;

    public CameraHealthMonitor(CameraConfig camera, TimeProvider time, Action<RuleEvent> emit)
    {
        ArgumentNullException.ThrowIfNull(camera);
        _camera = camera.Id;
        _site = camera.Site;
        _health = camera.Health;
        _time = time;
        _emit = emit;
    }

    /// <summary>Outages shorter than the offline threshold: reconnects nobody needed to hear about.</summary>
    public int Blips { get; private set; }

    public bool IsOffline
    {
        get { lock (_lock) return _incident is not null; }
    }

    public void OnHealth(SourceHealth health)
    {
        ArgumentNullException.ThrowIfNull(health);
        RuleEvent? emit = null;
        lock (_lock)
        {
            if (_disposed) return;
            switch (health.State)
            {
                case SourceState.Reconnecting or SourceState.Failed when _downSince is null:
                    _downSince = health.At;
                    _reason = health.Reason;
                    if (health.State == SourceState.Failed) emit = GoOffline();
                    else _timer = _time.CreateTimer(_ => OnTimer(), null, _health.OfflineAfter, Timeout.InfiniteTimeSpan);
                    break;
                case SourceState.Failed when _incident is null:
                    _reason = health.Reason ?? _reason;
                    emit = GoOffline();
                    break;
                case SourceState.Streaming when _downSince is { } since:
                    _timer?.Dispose();
                    _timer = null;
                    if (_incident is { } incident)
                    {
                        var outage = health.At - since;
                        emit = Event("camera.online", EventPhase.End, EventIds.Create(_camera, "health", 0, "online", TimeSpan.FromTicks(health.At.UtcTicks)),
                            incident, health.At, outage, $"back online after {outage.TotalSeconds:0} s");
                    }
                    else
                    {
                        Blips++;
                    }

                    _downSince = null;
                    _incident = null;
                    _reason = null;
                    break;
            }
        }

        if (emit is not null) _emit(emit);
    }

    private void OnTimer()
    {
        RuleEvent? emit;
        lock (_lock)
        {
            if (_disposed || _downSince is null || _incident is not null) return;
            emit = GoOffline();
        }

        if (emit is not null) _emit(emit);
    }

    private RuleEvent? GoOffline()
    {
        if (_incident is not null || _downSince is not { } since) return null;
        // The outage began when the source first failed, not when the threshold passed.
        var id = EventIds.Create(_camera, "health", 0, "offline", TimeSpan.FromTicks(since.UtcTicks));
        _incident = id;
        return Event("camera.offline", EventPhase.Start, id, id, since, _time.GetUtcNow() - since, _reason ?? "no frames");
    }

    private RuleEvent Event(string kind, EventPhase phase, Guid id, Guid incident, DateTimeOffset at, TimeSpan duration, string detail) => new()
    {
        Id = id,
        Kind = kind,
        Phase = phase,
        IncidentId = incident,
        Camera = _camera,
        Rule = "health",
        Category = "camera-health",
        Site = _site,
        // Health is wall-clock: a dead source has no stream time.
        StreamTime = TimeSpan.Zero,
        At = at,
        Duration = duration,
        Confidence = 1f,
        Detail = detail,
    };

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }
}
