using System.Diagnostics.Metrics;
using System.Globalization;
using CivicLens.Domain.Frames;
using Microsoft.Extensions.Logging;

namespace CivicLens.Media;

/// <summary>
/// Decodes a file or stream with a supervised ffmpeg child into pooled RGB24 frames. Files apply backpressure
/// (the decoder waits for a free frame); live streams never wait: without a free frame the new one is read into a
/// scratch buffer and dropped (counted). A live stream that ends or stalls is restarted with exponential backoff.
/// </summary>
public sealed partial class FfmpegFrameSource : IFrameSource
{
    private static readonly Meter Meter = new("CivicLens.Media");
    private static readonly Counter<long> Decoded = Meter.CreateCounter<long>("civiclens.media.frames_decoded");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("civiclens.media.frames_dropped");
    private static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("civiclens.media.reconnects");

    private readonly FrameSourceOptions _options;
    private readonly SourceUri _uri;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _startedAt;
    private FfmpegProcess? _ffmpeg;
    private FramePool? _pool;
    private byte[] _scratch = [];
    private ITimer? _watchdog;
    private double _outputFps;
    private long _sequence;
    private long _dropped;
    private int _failedAttempts;
    private int _stalled;
    private bool _streaming;
    private bool _ended;
    private string? _failure;
    private MediaInfo? _info;

    public FfmpegFrameSource(FrameSourceOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PoolCapacity, 1);
        if (options.SampleFps is <= 0) throw new ArgumentOutOfRangeException(nameof(options), "SampleFps must be positive.");
        _options = options;
        _uri = SourceUri.Parse(options.Uri); // a missing file or a malformed URL fails here, before any process starts
        _time = time;
        _logger = loggers.CreateLogger<FfmpegFrameSource>();
        _startedAt = time.GetTimestamp();
    }

    public string Name => _options.Name;

    public bool IsLive => !_uri.IsFile || _options.Realtime;

    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>Width and height of delivered frames (0 before the first frame).</summary>
    public int Width => _pool?.Width ?? 0;

    public int Height => _pool?.Height ?? 0;

    public event Action<SourceHealth>? HealthChanged;

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))] // no box per frame
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        // A source that failed for good stays failed: every later read says why, none looks like a clean end.
        if (_failure is not null) throw new FrameSourceException(_failure);
        while (!_ended)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_ffmpeg is null)
            {
                if (!await StartAsync(cancellationToken)) continue;
            }

            var frameBytes = _pool!.FrameBytes;
            Frame? frame = null;
            byte[] target;
            if (!IsLive)
            {
                frame = await _pool.RentAsync(cancellationToken);
                target = frame.Pixels;
            }
            else if (_pool.TryRent(out var f))
            {
                frame = f;
                target = f.Pixels;
            }
            else
            {
                target = _scratch; // no free buffer: decode into scratch and drop, so ffmpeg never blocks
            }

            int read;
            try
            {
                read = await _ffmpeg!.Output.ReadAtLeastAsync(target.AsMemory(0, frameBytes), frameBytes, throwOnEndOfStream: false, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                frame?.Release();
                throw;
            }
            catch (IOException)
            {
                read = 0;
            }

            if (read < frameBytes)
            {
                // End of stream; a partial frame is never delivered.
                frame?.Release();
                await OnStreamEndedAsync(cancellationToken);
                continue;
            }

            _watchdog?.Change(_options.StallTimeout, Timeout.InfiniteTimeSpan);
            _failedAttempts = 0;
            if (!_streaming)
            {
                _streaming = true;
                Raise(SourceState.Streaming, null);
            }

            var sequence = _sequence++;
            Decoded.Add(1);
            if (frame is null)
            {
                Interlocked.Increment(ref _dropped);
                Dropped.Add(1);
                continue;
            }

            frame.Sequence = sequence;
            frame.StreamTime = _uri.IsFile
                ? TimeSpan.FromSeconds(sequence / _outputFps)
                : _time.GetElapsedTime(_startedAt);
            frame.CapturedAt = _time.GetUtcNow();
            return frame;
        }

        return null;
    }

    /// <summary>Probes and starts ffmpeg. Returns false when a live source must be retried later.</summary>
    private async Task<bool> StartAsync(CancellationToken ct)
    {
        Raise(SourceState.Starting, null);
        MediaInfo info;
        try
        {
            info = await MediaProbe.ProbeAsync(_uri, _options.ProbeTimeout, ct);
        }
        catch (FrameSourceException ex) when (!_uri.IsFile)
        {
            await BackOffAsync(ex.Message, ct);
            return false;
        }
        catch (FrameSourceException ex)
        {
            Fail(ex.Message);
            throw;
        }

        var (w, h) = OutputSize(info);
        if (_pool is null || _pool.Width != w || _pool.Height != h)
        {
            if (_pool is not null) LogResolutionChanged(_logger, Name, _pool.Width, _pool.Height, w, h);
            _pool = new FramePool(w, h, _options.PoolCapacity);
            _scratch = new byte[_pool.FrameBytes];
        }

        _info = info;
        _outputFps = _options.SampleFps ?? info.FramesPerSecond ?? 25;
        _ffmpeg = new FfmpegProcess(BuildArguments(info, w, h), Name, _logger);
        if (!_uri.IsFile)
        {
            Volatile.Write(ref _stalled, 0);
            _watchdog ??= _time.CreateTimer(_ => OnStall(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _watchdog.Change(_options.StallTimeout + _options.ProbeTimeout, Timeout.InfiniteTimeSpan);
        }

        LogStarted(_logger, Name, _uri.Display, w, h, _outputFps);
        return true;
    }

    private List<string> BuildArguments(MediaInfo info, int w, int h)
    {
        var a = new List<string> { "-nostdin", "-hide_banner", "-loglevel", "error" };
        if (_uri.IsRtsp)
        {
            a.AddRange(["-rtsp_transport", "tcp", "-timeout", Micros(_options.StallTimeout)]);
        }
        else if (!_uri.IsFile)
        {
            a.AddRange(["-rw_timeout", Micros(_options.StallTimeout)]);
        }

        if (_options.Loop && _uri.IsFile) a.AddRange(["-stream_loop", "-1"]);
        if (_options.Realtime && _uri.IsFile) a.Add("-re");
        a.AddRange(["-i", _uri.Value, "-an", "-sn", "-dn"]);
        var filters = new List<string>();
        if (_options.SampleFps is { } fps) filters.Add("fps=" + fps.ToString(CultureInfo.InvariantCulture));
        if (w != info.Width || h != info.Height) filters.Add($"scale={w}:{h}");
        if (filters.Count > 0) a.AddRange(["-vf", string.Join(',', filters)]);
        a.AddRange(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        return a;
    }

    private static string Micros(TimeSpan t) => ((long)t.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);

    private (int Width, int Height) OutputSize(MediaInfo info)
    {
        int w = _options.OutputWidth ?? info.Width, h;
        if (_options.OutputHeight is { } oh) h = oh;
        else if (_options.OutputWidth is not null) h = (int)Math.Round(info.Height * (double)w / info.Width / 2) * 2;
        else h = info.Height;
        return (Math.Max(2, w), Math.Max(2, h));
    }

    private async Task OnStreamEndedAsync(CancellationToken ct)
    {
        var ffmpeg = _ffmpeg!;
        _ffmpeg = null;
        _streaming = false;
        _watchdog?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        var exit = await ffmpeg.WaitForExitAsync(TimeSpan.FromSeconds(5));
        var tail = ffmpeg.Tail;
        ffmpeg.Dispose();
        var stalled = Interlocked.Exchange(ref _stalled, 0) == 1;

        if (_uri.IsFile)
        {
            _ended = true;
            var expected = _info?.Duration is { } d ? d.TotalSeconds * _outputFps : 0;
            if (exit != 0 || (expected > 10 && _sequence < expected * 0.9))
            {
                var at = TimeSpan.FromSeconds(_sequence / _outputFps);
                var why = exit != 0 ? $"ffmpeg exited with code {exit}" : $"the file ends at {at.TotalSeconds:0.#} s of the {(_info!.Duration!.Value.TotalSeconds):0.#} s its header promises";
                var reason = $"{_uri.Display} is truncated or corrupt: {why}" + (tail.Length > 0 ? $" ({tail})" : "");
                Fail(reason);
                throw new FrameSourceException(reason + $". {_sequence} frames before the damage were delivered.");
            }

            Raise(SourceState.Ended, null);
            return;
        }

        var reasonLive = stalled
            ? $"no frame for {_options.StallTimeout.TotalSeconds:0.#} s (stream stalled)"
            : $"stream ended (ffmpeg exit code {exit}{(tail.Length > 0 ? ": " + tail : "")})";
        await BackOffAsync(reasonLive, ct);
    }

    private async Task BackOffAsync(string reason, CancellationToken ct)
    {
        _failedAttempts++;
        if (_options.MaxReconnectAttempts is { } max && _failedAttempts > max)
        {
            _ended = true;
            var message = $"Camera {Name} ({_uri.Display}) gave up after {max} reconnect attempts: {reason}";
            Fail(message);
            throw new FrameSourceException(message);
        }

        var delay = TimeSpan.FromTicks(Math.Min(_options.ReconnectMaxDelay.Ticks,
            _options.ReconnectInitialDelay.Ticks * (1L << Math.Min(_failedAttempts - 1, 20))));
        Reconnects.Add(1);
        Raise(SourceState.Reconnecting, $"{reason}; retrying in {delay.TotalSeconds:0.#} s");
        await Task.Delay(delay, _time, ct);
    }

    private void OnStall()
    {
        Volatile.Write(ref _stalled, 1);
        _ffmpeg?.Stop(); // the read then sees the end of the pipe and the source reconnects
    }

    private void Fail(string reason)
    {
        _failure = reason;
        Raise(SourceState.Failed, reason);
    }

    private void Raise(SourceState state, string? reason)
    {
        try
        {
            HealthChanged?.Invoke(new SourceHealth(Name, state, _time.GetUtcNow(), reason, _pool?.Width, _pool?.Height));
        }
        catch (Exception ex)
        {
            LogObserverFailed(_logger, Name, ex.Message);
        }
    }

    public ValueTask DisposeAsync()
    {
        _ended = true;
        _watchdog?.Dispose();
        _ffmpeg?.Dispose();
        _ffmpeg = null;
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: decoding {Source} at {Width}x{Height}, {Fps} frames/s")]
    private static partial void LogStarted(ILogger logger, string camera, string source, int width, int height, double fps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Camera {Camera}: resolution changed from {OldWidth}x{OldHeight} to {Width}x{Height}")]
    private static partial void LogResolutionChanged(ILogger logger, string camera, int oldWidth, int oldHeight, int width, int height);

    [LoggerMessage(Level = LogLevel.Error, Message = "Camera {Camera}: a health observer failed: {Error}")]
    private static partial void LogObserverFailed(ILogger logger, string camera, string error);
}
