using System.Collections.Concurrent;
using System.Globalization;
using CivicLens.Domain.Cameras;
using CivicLens.Pipeline.Supervision;

namespace CivicLens.Cluster.Node;

/// <summary>
/// The cameras of a node started with <c>--control-plane-only</c>, for <c>civiclens bench cluster</c>: each camera
/// placed here is taken through its real grain, its definition checked against the district, and its spec (stream
/// address included) kept in memory, and it reports <c>streaming</c> with a reason that says nothing is decoded. No
/// ffmpeg, detector, tracker or rule runs. On request it flips cameras between <c>offline</c> and <c>streaming</c> at
/// a set rate, round robin, so the hubs' intake of health changes can be measured; the flips travel the real path
/// (this node's health queue, its uplink, a hub's health grain, the registry).
/// </summary>
public sealed class ControlPlaneCameras : IAsyncDisposable
{
    /// <summary>What a control-plane camera's health says while it "runs".</summary>
    public const string RunningReason = "control-plane only (civiclens bench cluster): assigned and checked, nothing decoded";

    /// <summary>What a flipped camera's health says.</summary>
    public const string OfflineReason = "control-plane only (civiclens bench cluster): a simulated outage";

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, Entry> _cameras = new(StringComparer.Ordinal);
    private readonly Action<string, CameraStatus> _report;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _flipping;
    private double _rate;
    private long _flipped;

    public ControlPlaneCameras(Action<string, CameraStatus> report, TimeProvider time)
    {
        _report = report;
        _time = time;
        _flipping = FlipAsync(_stop.Token);
    }

    public int Count => _cameras.Count;

    /// <summary>Health changes this node made up since it started (flips to offline and back).</summary>
    public long Flipped => Interlocked.Read(ref _flipped);

    public bool Contains(string camera) => _cameras.ContainsKey(camera);

    public IReadOnlyList<string> Ids() => [.. _cameras.Keys];

    /// <summary>Keeps the camera's checked spec and reports it running (a note such as "moved from" is appended).</summary>
    public void Record(CameraSpec spec, string? note)
    {
        ArgumentNullException.ThrowIfNull(spec);
        _cameras[spec.Camera.Id] = new Entry(spec);
        _report(spec.Camera.Id, new CameraStatus(CameraState.Streaming, _time.GetUtcNow(), note is null ? RunningReason : RunningReason + "; " + note));
    }

    public void Forget(string camera) => _cameras.TryRemove(camera, out _);

    /// <summary>
    /// Health changes a second this node makes up from now on; 0 stops and reports every camera flipped offline as
    /// streaming again.
    /// </summary>
    public void SetFlips(double perSecond) => Volatile.Write(ref _rate, Math.Max(0, perSecond));

    /// <summary>Reads <c>flips N</c> lines (N health changes a second; 0 stops) until the reader ends: the bench's control channel.</summary>
    public async Task FollowAsync(TextReader commands, TextWriter answers, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(answers);
        while (await commands.ReadLineAsync(ct) is { } line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["flips", var n] && double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate >= 0)
            {
                SetFlips(rate);
                await answers.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"control plane: {rate:0} health changes a second ({Count} cameras, {Flipped} flipped so far)"));
            }
            else
            {
                await answers.WriteLineAsync("control plane: unknown command (expected: flips N)");
            }
        }
    }

    private async Task FlipAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        var last = _time.GetTimestamp();
        var budget = 0.0;
        string[] order = [];
        var cursor = 0;
        var anyOffline = false;
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var now = _time.GetTimestamp();
                var elapsed = _time.GetElapsedTime(last, now).TotalSeconds;
                last = now;
                var rate = Volatile.Read(ref _rate);
                if (rate <= 0)
                {
                    budget = 0;
                    if (anyOffline) anyOffline = !Restore();
                    continue;
                }

                budget = Math.Min(budget + rate * elapsed, rate);
                var due = (int)budget;
                budget -= due;
                for (var i = 0; i < due; i++)
                {
                    if (cursor >= order.Length)
                    {
                        order = [.. _cameras.Keys];
                        cursor = 0;
                        if (order.Length == 0) break;
                    }

                    var id = order[cursor++];
                    if (!_cameras.TryGetValue(id, out var entry)) continue;
                    entry.Offline = !entry.Offline;
                    anyOffline |= entry.Offline;
                    Interlocked.Increment(ref _flipped);
                    _report(id, entry.Offline
                        ? new CameraStatus(CameraState.Offline, _time.GetUtcNow(), OfflineReason)
                        : new CameraStatus(CameraState.Streaming, _time.GetUtcNow(), RunningReason));
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Every camera left offline by a flip streams again; true when none is left offline.</summary>
    private bool Restore()
    {
        foreach (var (id, entry) in _cameras)
        {
            if (!entry.Offline) continue;
            entry.Offline = false;
            Interlocked.Increment(ref _flipped);
            _report(id, new CameraStatus(CameraState.Streaming, _time.GetUtcNow(), RunningReason));
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _flipping;
        _stop.Dispose();
    }

    private sealed class Entry(CameraSpec spec)
    {
        /// <summary>Kept as a decoding node keeps it in its worker (the memory figure counts it).</summary>
        public CameraSpec Spec { get; } = spec;

        public bool Offline { get; set; }
    }
}
