using CivicLens.Domain.Cameras;
using CivicLens.Domain.Frames;
using CivicLens.Media;
using CivicLens.Media.Motion;
using CivicLens.Privacy.Redaction;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline.Supervision;

/// <summary>A camera as its node runs it: its configuration (zones, rules) and the stream it reads.</summary>
public sealed record CameraSpec(CameraConfig Camera, string Source)
{
    public string Id => Camera.Id;

    /// <summary>What only a fresh decoder can take: another stream, frame size or privacy masks.</summary>
    internal bool NeedsRestart(CameraSpec other) =>
        !string.Equals(Source, other.Source, StringComparison.Ordinal) || Camera.Width != other.Camera.Width || Camera.Height != other.Camera.Height
        || !Camera.PrivacyMasks.SequenceEqual(other.Camera.PrivacyMasks) || Camera.Health != other.Camera.Health;

    // The source may carry credentials.
    public override string ToString() => $"CameraSpec {{ Id = {Id} }}";
}

/// <summary>
/// One camera's supervised runtime: decoder, tracker and rules around the shared detector. Whatever throws inside
/// it marks this camera <see cref="CameraState.Failed"/> with the reason and retries it with backoff (1 s doubling to
/// 5 min); a stream that cannot be read is <see cref="CameraState.Offline"/>. No other camera is stopped or restarted.
/// </summary>
public sealed partial class CameraWorker : IAsyncDisposable
{
    private readonly AnalysisServices _services;
    private readonly CameraRuntimes _runtimes;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Action<string, CameraStatus> _onState;
    private readonly CameraSupervisorOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private CancellationTokenSource _run = new();
    private CameraSpec _spec;
    private Task _loop = Task.CompletedTask;
    private CameraPipeline? _pipeline;
    private CameraStatus _status;
    private SourceState _source = SourceState.Starting;
    private bool _offline;
    private bool _tamper;
    private string? _sourceReason;
    private long _restarts;
    private long _lastFrameTicks;

    internal CameraWorker(CameraSpec spec, AnalysisServices services, CameraRuntimes runtimes, CameraSupervisorOptions options, ILoggerFactory loggers,
        TimeProvider time, Action<string, CameraStatus> onState)
    {
        _spec = spec;
        _services = services;
        _runtimes = runtimes;
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger<CameraWorker>();
        _time = time;
        _onState = onState;
        _status = new CameraStatus(CameraState.Starting, time.GetUtcNow(), null);
    }

    public string Id => _spec.Id;

    public CameraSpec Spec => Volatile.Read(ref _spec);

    public CameraStatus Status
    {
        get { lock (_lock) return _status; }
    }

    /// <summary>Times the camera's analysis was started again after a failure or a lost stream.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Frames read, analysed and dropped by the current run (zero between runs).</summary>
    public (long Read, long Analysed, long Dropped) Counters =>
        Volatile.Read(ref _pipeline) is { } p ? (p.FramesRead, p.FramesAnalysedCount, p.FramesDroppedTotal) : default;

    /// <summary>When the last frame was analysed; null before the first.</summary>
    public DateTimeOffset? LastFrameAt => Interlocked.Read(ref _lastFrameTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    internal void Start() => _loop = Task.Run(() => SuperviseAsync(_stop.Token));

    /// <summary>
    /// A registry change: rules and zones apply to the running camera on its next frame; another stream, frame size or
    /// privacy masks restart this camera's decoder. A failed camera waiting out its backoff retries at once.
    /// </summary>
    internal void Update(CameraSpec spec)
    {
        var old = Interlocked.Exchange(ref _spec, spec);
        if (old.NeedsRestart(spec) || Status.State == CameraState.Failed)
        {
            lock (_lock) _run.Cancel();
            return;
        }

        _runtimes.Find(spec.Id)?.RulesChanged();
    }

    private async Task SuperviseAsync(CancellationToken stop)
    {
        var backoff = _options.FirstRetry;
        while (!stop.IsCancellationRequested)
        {
            CancellationTokenSource run;
            lock (_lock)
            {
                if (_run.IsCancellationRequested)
                {
                    _run.Dispose();
                    _run = new CancellationTokenSource();
                }

                run = _run;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, run.Token);
            var started = _time.GetTimestamp();
            string? failure = null;
            var offline = false;
            try
            {
                await RunOnceAsync(linked.Token);
                // A file that ended, or a live source that gave up: the stream is gone, not CivicLens.
                offline = true;
                failure = "the stream ended";
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                if (stop.IsCancellationRequested) break;
                // A registry change restarts this camera at once.
                backoff = _options.FirstRetry;
                continue;
            }
            catch (FrameSourceException ex)
            {
                offline = true;
                failure = ex.Message;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failure = Reason(ex);
                LogFailed(_logger, Id, ex);
            }

            // Stopped or restarted on purpose while failing: nothing to report about the run that was asked to end.
            if (stop.IsCancellationRequested) break;
            if (run.IsCancellationRequested)
            {
                backoff = _options.FirstRetry;
                continue;
            }

            // A run that stayed up a while was healthy: the next failure starts the backoff afresh.
            if (_time.GetElapsedTime(started) > _options.HealthyAfter) backoff = _options.FirstRetry;
            if (offline) SetSource(SourceState.Failed, failure);
            else SetFailed(failure);
            Interlocked.Increment(ref _restarts);
            try
            {
                CancellationToken wake;
                lock (_lock) wake = _run.Token;
                using var waitOrWake = CancellationTokenSource.CreateLinkedTokenSource(stop, wake);
                await Task.Delay(backoff, _time, waitOrWake.Token);
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                // Woken by a registry change: retry now.
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxRetry.Ticks));
        }
    }

    private async Task RunOnceAsync(CancellationToken ct)
    {
        var spec = Spec;
        var camera = spec.Camera;
        lock (_lock)
        {
            _failedReason = null;
            _source = SourceState.Starting;
            _sourceReason = null;
            _offline = false;
            _tamper = false;
        }

        Publish();
        // Rules are built before any frame is decoded: a rule that no longer fits fails here, with its reason.
        // Rule state (scene-change references) outlives this run: the next run, or the next process, reads it back.
        var state = _services.Settings.RuleState;
        CameraRuleEngine Build() => new(_runtimes.GeometryOf(camera.Id).ApplyTo(Spec.Camera), _services.District, _services.Labels, _services.Signals, state);
        var engine = Build();
        var source = new FfmpegFrameSource(new FrameSourceOptions
        {
            Name = camera.Id,
            Uri = spec.Source,
            SampleFps = _services.Settings.SampleFps,
            Loop = _services.Settings.LoopFileSources,
        }, _time, _loggers);
        await using (source)
        {
            using var health = new CameraHealthMonitor(camera, _time, e => RulesObserver.WriteHealthEvent(_services.Writer, e));
            CameraPipeline? pipeline = null;
            var runtime = _runtimes.Start(camera.Id, () => pipeline is null ? default : new CameraCounters(pipeline.FramesRead, pipeline.FramesAnalysedCount,
                pipeline.FramesDroppedTotal, pipeline.FramesAnalysedCount - pipeline.FramesStillCount, _services.Detector.BusyTime, _services.Detector.FramesDetected));
            using var rules = new RulesObserver(_services.Writer, engine, health, _services.SiteEvidence) { Runtime = runtime, Rebuild = Build };
            IPipelineObserver observer = new FrameClock(rules, this);
            if (_options.WrapObserver is { } wrap) observer = wrap(camera.Id, observer);
            var masks = camera.PrivacyMasks.Count > 0
                ? new FrameRedactor(_services.Planner, _services.RedactionOptions, camera.PrivacyMasks.Select(m => m.Polygon).ToList(), (camera.Width, camera.Height))
                : _services.Redactor;
            pipeline = new CameraPipeline(source, _services.Detector, new MotionGate(new MotionGateOptions()), masks, observer,
                new CameraPipelineOptions { UseMotionGate = _services.Settings.UseMotionGate, Tracker = TrackerDefaults.For(_services.Labels) },
                _loggers.CreateLogger<CameraPipeline>());
            Volatile.Write(ref _pipeline, pipeline);
            try
            {
                await pipeline.RunAsync(ct);
            }
            finally
            {
                Volatile.Write(ref _pipeline, null);
                _runtimes.Stop(runtime);
                try
                {
                    // Open conditions close and partial counts flush, whatever stopped the run.
                    await rules.CompleteAsync(CancellationToken.None);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private string? _failedReason;

    private void SetFailed(string? reason)
    {
        lock (_lock) _failedReason = reason ?? "failed";
        Publish();
    }

    /// <summary>The source's own word (streaming, reconnecting, gone).</summary>
    internal void SetSource(SourceState state, string? reason)
    {
        lock (_lock)
        {
            _source = state;
            _sourceReason = reason;
            if (state == SourceState.Failed) _offline = true;
            if (state == SourceState.Streaming) _failedReason = null;
        }

        Publish();
    }

    /// <summary>The camera's health rules decided: offline after its threshold, tampered with, or back.</summary>
    internal void OnHealthEvent(string kind, EventPhase phase, string? detail)
    {
        lock (_lock)
        {
            switch (kind)
            {
                case "camera.offline":
                    _offline = true;
                    _sourceReason = detail ?? _sourceReason;
                    break;
                case "camera.online":
                    _offline = false;
                    break;
                case "camera.tamper":
                    _tamper = phase != EventPhase.End;
                    _sourceReason = phase == EventPhase.End ? null : "view " + (detail ?? "tampered with");
                    break;
                default:
                    return;
            }
        }

        Publish();
    }

    private void Publish()
    {
        lock (_lock)
        {
            var (state, reason) = _failedReason is not null ? (CameraState.Failed, _failedReason)
                : _offline ? (CameraState.Offline, _sourceReason ?? "no frames")
                : _tamper ? (CameraState.Tamper, _sourceReason)
                : _source switch
                {
                    SourceState.Streaming => (CameraState.Streaming, (string?)null),
                    SourceState.Reconnecting => (CameraState.Reconnecting, _sourceReason),
                    SourceState.Failed or SourceState.Ended => (CameraState.Offline, _sourceReason ?? "the stream ended"),
                    _ => (CameraState.Starting, (string?)null),
                };
            reason = Safe(reason);
            if (_published && state == _status.State && reason == _status.Reason) return;
            _published = true;
            _status = new CameraStatus(state, _time.GetUtcNow(), reason);
            // Under the lock, so changes reach the registry in the order they happened (the callback only queues).
            _onState(Id, _status);
        }
    }

    private bool _published;

    /// <summary>
    /// A reason is shown to every role that reads the registry: any stream address in it (ffmpeg names its input;
    /// a URL may carry credentials in its user part or its query) is replaced by words.
    /// </summary>
    public static string? Safe(string? reason) => reason is null ? null : UrlPattern().Replace(reason, "(the stream address)");

    [System.Text.RegularExpressions.GeneratedRegex(@"[A-Za-z][A-Za-z0-9+.\-]*://\S+")]
    private static partial System.Text.RegularExpressions.Regex UrlPattern();

    private static string Reason(Exception ex)
    {
        // The innermost message names the cause; never a URL (sources keep theirs out of messages).
        var inner = ex;
        while (inner.InnerException is not null && inner is AggregateException or InvalidOperationException) inner = inner.InnerException;
        var text = inner.Message.ReplaceLineEndings(" ");
        return text.Length <= 300 ? text : text[..300] + "...";
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        lock (_lock) _run.Dispose();
    }

    /// <summary>Notes each analysed frame's time for the registry's "last frame".</summary>
    private sealed class FrameClock(IPipelineObserver inner, CameraWorker worker) : IPipelineObserver
    {
        public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            await inner.OnFrameAsync(analysis, cancellationToken);
            Interlocked.Exchange(ref worker._lastFrameTicks, worker._time.GetUtcNow().UtcTicks);
        }

        public void OnHealth(SourceHealth health) => inner.OnHealth(health);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Camera {Camera} failed; retrying with backoff")]
    private static partial void LogFailed(ILogger logger, string camera, Exception ex);
}
