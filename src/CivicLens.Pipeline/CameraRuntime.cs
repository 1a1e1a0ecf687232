using System.Collections.Concurrent;
using CivicLens.Rules.Configuration;

namespace CivicLens.Pipeline;

/// <summary>A redacted live frame: JPEG bytes in memory only, and when it was taken.</summary>
public sealed record LiveFrame(byte[] Jpeg, DateTimeOffset At);

/// <summary>How a running camera is doing, over the last sampling interval.</summary>
public sealed record CameraLoad(long FramesRead, long FramesAnalysed, long FramesDropped, double DropRate, double DetectorLoad, double FramesPerSecond);

/// <summary>Counters a camera loop exposes (cumulative since it started).</summary>
public readonly record struct CameraCounters(long Read, long Analysed, long Dropped, long Detected, TimeSpan DetectorBusy, long DetectorFrames);

/// <summary>
/// Edits of a camera's zones and lines made after the configuration file was loaded (the console's editor):
/// a zone or line id mapped to its new geometry, or to null when it was removed. They win over the file's geometry.
/// </summary>
public sealed record GeometryOverrides(IReadOnlyDictionary<string, ZoneConfig?> Zones, IReadOnlyDictionary<string, LineConfig?> Lines)
{
    public static GeometryOverrides None { get; } = new(new Dictionary<string, ZoneConfig?>(), new Dictionary<string, LineConfig?>());

    /// <summary>The camera with its effective geometry: the file's zones and lines, edited ones replaced or removed, new ones added.</summary>
    public CameraConfig ApplyTo(CameraConfig camera)
    {
        ArgumentNullException.ThrowIfNull(camera);
        if (Zones.Count == 0 && Lines.Count == 0) return camera;
        var zones = camera.Zones.Where(z => !Zones.ContainsKey(z.Id)).ToList();
        zones.AddRange(Zones.Values.OfType<ZoneConfig>());
        var lines = camera.Lines.Where(l => !Lines.ContainsKey(l.Id)).ToList();
        lines.AddRange(Lines.Values.OfType<LineConfig>());
        // File order first so a replay's output stays comparable; new ones by id.
        var zoneOrder = camera.Zones.Select((z, i) => (z.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
        var lineOrder = camera.Lines.Select((l, i) => (l.Id, i)).ToDictionary(x => x.Id, x => x.i, StringComparer.Ordinal);
        return camera with
        {
            Zones = [.. zones.OrderBy(z => zoneOrder.GetValueOrDefault(z.Id, int.MaxValue)).ThenBy(z => z.Id, StringComparer.Ordinal)],
            Lines = [.. lines.OrderBy(l => lineOrder.GetValueOrDefault(l.Id, int.MaxValue)).ThenBy(l => l.Id, StringComparer.Ordinal)],
        };
    }
}

/// <summary>
/// What the server knows about the cameras running in this process: their load, the redacted live frame kept
/// while someone watches, and geometry edits to apply without a restart. Shared by the pipelines and the API.
/// </summary>
public sealed class CameraRuntimes(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CameraRuntime> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GeometryOverrides> _geometry = new(StringComparer.Ordinal);

    public TimeProvider Time { get; } = time;

    /// <summary>A live frame is kept only this long after the last request for it.</summary>
    public TimeSpan WatchWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>At most one live frame per camera per this interval (each is a redaction and a JPEG).</summary>
    public TimeSpan LiveInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A camera's loop starts: from now on it is "running" and takes geometry edits.</summary>
    public CameraRuntime Start(string camera, Func<CameraCounters> counters)
    {
        var runtime = new CameraRuntime(this, camera, counters);
        _running[camera] = runtime;
        return runtime;
    }

    /// <summary>The loop ended: its live frame is dropped at once.</summary>
    public void Stop(CameraRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _running.TryRemove(new KeyValuePair<string, CameraRuntime>(runtime.Camera, runtime));
        runtime.Clear();
    }

    public CameraRuntime? Find(string camera) => _running.TryGetValue(camera, out var r) ? r : null;

    /// <summary>The edits in force for a camera (none when nothing was edited).</summary>
    public GeometryOverrides GeometryOf(string camera) => _geometry.TryGetValue(camera, out var g) ? g : GeometryOverrides.None;

    /// <summary>Sets a camera's edits (at start from the store, then after every save); a running camera rebuilds its rules on its next frame.</summary>
    public void SetGeometry(string camera, GeometryOverrides overrides)
    {
        _geometry[camera] = overrides;
        Find(camera)?.GeometryChanged();
    }
}

/// <summary>One running camera, as <see cref="CameraRuntimes"/> holds it.</summary>
public sealed class CameraRuntime
{
    private readonly CameraRuntimes _owner;
    private readonly Func<CameraCounters> _counters;
    private readonly FrameSlot _live;
    private readonly FrameSlot _scene;
    private readonly Lock _lock = new();
    private int _geometryVersion;
    private (DateTimeOffset At, CameraCounters Counters)? _previous;
    private (DateTimeOffset At, CameraCounters Counters)? _latest;

    internal CameraRuntime(CameraRuntimes owner, string camera, Func<CameraCounters> counters)
    {
        _owner = owner;
        Camera = camera;
        _counters = counters;
        _live = new FrameSlot(owner);
        _scene = new FrameSlot(owner);
        // Rates start from the loop's start until the first sample rolls over.
        _previous = _latest = (owner.Time.GetUtcNow(), default);
    }

    public string Camera { get; }

    /// <summary>Bumped by each geometry edit; the camera's rules observer rebuilds its engine when it moves.</summary>
    public int GeometryVersion => Volatile.Read(ref _geometryVersion);

    internal void GeometryChanged() => Interlocked.Increment(ref _geometryVersion);

    /// <summary>The camera's rules or zones changed in the registry: its rules observer rebuilds its engine on the next frame.</summary>
    public void RulesChanged() => GeometryChanged();

    private int _appliedVersion;

    /// <summary>The geometry version the camera's rules run with now (equal to <see cref="GeometryVersion"/> once an edit took effect).</summary>
    public int AppliedGeometryVersion => Volatile.Read(ref _appliedVersion);

    /// <summary>The rules observer rebuilt its engine with the geometry of <paramref name="version"/>.</summary>
    public void GeometryApplied(int version) => Volatile.Write(ref _appliedVersion, version);

    /// <summary>
    /// Called by the camera loop on each frame: true when someone watches and the last live frame is old enough.
    /// When nobody watches any more, the kept frame is dropped here.
    /// </summary>
    public bool WantsFrame() => _live.Wants();

    /// <summary>The loop hands over a redacted JPEG (never a raw frame).</summary>
    public void Publish(byte[] jpeg) => _live.Publish(jpeg);

    /// <summary>The newest live frame if it is fresh (two intervals), else waits for the next one up to <paramref name="timeout"/>.</summary>
    public Task<LiveFrame?> LatestAsync(TimeSpan timeout, CancellationToken ct) => _live.LatestAsync(timeout, ct);

    /// <summary>As <see cref="WantsFrame"/>, for the scene frame (people and vehicles masked whole) the zone editor draws on.</summary>
    public bool WantsScene() => _scene.Wants();

    /// <summary>The loop hands over a scene JPEG: redacted, then every detected box filled.</summary>
    public void PublishScene(byte[] jpeg) => _scene.Publish(jpeg);

    /// <summary>As <see cref="LatestAsync"/>, for the scene frame.</summary>
    public Task<LiveFrame?> LatestSceneAsync(TimeSpan timeout, CancellationToken ct) => _scene.LatestAsync(timeout, ct);

    internal void Clear()
    {
        _live.Clear();
        _scene.Clear();
    }

    /// <summary>Load over the last sampling interval (at least 5 s between samples, so rates are not noise).</summary>
    public CameraLoad Load()
    {
        var now = _owner.Time.GetUtcNow();
        var current = _counters();
        lock (_lock)
        {
            if (now - _latest!.Value.At >= TimeSpan.FromSeconds(5))
            {
                _previous = _latest;
                _latest = (now, current);
            }

            var (at0, c0) = _previous!.Value;
            var seconds = Math.Max((now - at0).TotalSeconds, 1e-3);
            var read = current.Read - c0.Read;
            var dropped = current.Dropped - c0.Dropped;
            // This camera's share of the shared detector's busy time: node busy time split by frames detected.
            var nodeFrames = current.DetectorFrames - c0.DetectorFrames;
            var busy = (current.DetectorBusy - c0.DetectorBusy).TotalSeconds;
            var mine = nodeFrames <= 0 ? 0 : busy * (current.Detected - c0.Detected) / nodeFrames;
            return new CameraLoad(current.Read, current.Analysed, current.Dropped,
                read + dropped <= 0 ? 0 : Math.Round((double)dropped / (read + dropped), 4),
                Math.Round(Math.Clamp(mine / seconds, 0, 1), 4),
                Math.Round((current.Analysed - c0.Analysed) / seconds, 2));
        }
    }
}

/// <summary>
/// One kind of frame a camera hands out on demand: produced only while someone asked within the watch window, at
/// most once per live interval, kept in memory only and dropped when nobody watches.
/// </summary>
internal sealed class FrameSlot(CameraRuntimes owner)
{
    private readonly Lock _lock = new();
    private long _watchedUntil;
    private LiveFrame? _frame;
    private TaskCompletionSource<LiveFrame> _next = New();

    public void Watch()
    {
        var until = (owner.Time.GetUtcNow() + owner.WatchWindow).ToUnixTimeMilliseconds();
        long seen;
        do
        {
            seen = Interlocked.Read(ref _watchedUntil);
            if (seen >= until) return;
        }
        while (Interlocked.CompareExchange(ref _watchedUntil, until, seen) != seen);
    }

    public bool Wants()
    {
        var now = owner.Time.GetUtcNow();
        if (now.ToUnixTimeMilliseconds() > Interlocked.Read(ref _watchedUntil))
        {
            if (Volatile.Read(ref _frame) is not null) Clear();
            return false;
        }

        var last = Volatile.Read(ref _frame);
        return last is null || now - last.At >= owner.LiveInterval;
    }

    public void Publish(byte[] jpeg)
    {
        var frame = new LiveFrame(jpeg, owner.Time.GetUtcNow());
        TaskCompletionSource<LiveFrame> waiting;
        lock (_lock)
        {
            _frame = frame;
            waiting = _next;
            _next = New();
        }

        waiting.TrySetResult(frame);
    }

    public async Task<LiveFrame?> LatestAsync(TimeSpan timeout, CancellationToken ct)
    {
        Watch();
        Task<LiveFrame> next;
        lock (_lock)
        {
            if (_frame is { } f && owner.Time.GetUtcNow() - f.At <= owner.LiveInterval * 2) return f;
            next = _next.Task;
        }

        try
        {
            return await next.WaitAsync(timeout, owner.Time, ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    public void Clear()
    {
        lock (_lock) _frame = null;
    }

    private static TaskCompletionSource<LiveFrame> New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
