using System.Diagnostics.Metrics;
using System.Globalization;
using CivicLens.Domain.Frames;
using Microsoft.Extensions.Logging;

namespace CivicLens.Media;

/// <summary>
/// Decodes a file or stream with a supervised ffmpeg child into pooled RGB24 frames. Files apply backpressure
/// (the decoder waits for a free frame); live streams never wait: without a free frame the new one is read into a
/// scratch buffer and dropped (counted). A live stream that ends or stalls is restarted with exponential backoff.
/// <para>
/// A picture size change mid-stream (a camera reconfigured, a file whose SPS changes) is not left to ffmpeg, which would
/// scale the new frames to the first size: run with <c>-reinit_filter 0</c>, ffmpeg's buffer source reports each frame
/// unlike the first on stderr (size and time), and the source switches to a frame pool of the new size. A camera
/// reconnects at once (no backoff); a file goes on from the changed frame: a stream copy from that key frame feeds a
/// fresh decoder, so no frame is lost or repeated and stream time and sequence numbers run on.
/// </para>
/// </summary>
public sealed partial class FfmpegFrameSource : IFrameSource
{
    private static readonly Meter Meter = new("CivicLens.Media");
    private static readonly Counter<long> Decoded = Meter.CreateCounter<long>("civiclens.media.frames_decoded", "{frame}", "Frames decoded by ffmpeg");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("civiclens.media.frames_dropped", "{frame}", "Decoded frames dropped for lack of a free buffer");
    private static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("civiclens.media.reconnects", "{reconnect}", "Stream reconnects");
    private static readonly Counter<long> SizeChanges = Meter.CreateCounter<long>("civiclens.media.resolution_changes", "{change}", "Streams whose frame size changed");

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

    // What the current ffmpeg (a "segment": a file is decoded again from a size change on) decodes, and where its frames
    // sit. ffmpeg writes rawvideo at a constant rate from its time 0, duplicating or dropping frames as a late first frame
    // or a gap needs, so its frame n is at n / rate on the timeline its reports use.
    private int _sourceWidth;
    private int _sourceHeight;
    private int _segment;
    private long _segmentFrames;         // frames read from the current ffmpeg
    private long _segmentSkip;           // frames it repeats that were delivered already (a change noticed late)
    private double _segmentOrigin;       // the time of its time 0 on the first ffmpeg's timeline (the file's)
    private TimeSpan _segmentStartTime;  // stream time of its first delivered frame
    private long _segmentStartSequence;
    private SizeChange? _pendingChange;  // set by the stderr reader, acted on by the frame reader

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
            if (_segmentSkip > 0)
            {
                target = _scratch;
            }
            else if (!IsLive)
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

            var index = _segmentFrames++;
            if (Volatile.Read(ref _pendingChange) is { } change && IsPastChange(change, index))
            {
                // ffmpeg scaled this frame to the old size: it is decoded again at the new one, never delivered distorted.
                frame?.Release();
                await OnSizeChangedAsync(change, index);
                continue;
            }

            if (_segmentSkip > 0)
            {
                _segmentSkip--;
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
            frame.StreamTime = _uri.IsFile ? FileTime(sequence) : _time.GetElapsedTime(_startedAt);
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

        var (w, h) = OutputSize(info.Width, info.Height);
        UsePool(w, h);
        _info = info;
        _outputFps = _options.SampleFps ?? info.FramesPerSecond ?? 25;
        (_sourceWidth, _sourceHeight) = (info.Width, info.Height);
        _segmentOrigin = 0;
        Launch(BuildArguments(w, h, resume: false), feeder: null);
        if (!_uri.IsFile)
        {
            Volatile.Write(ref _stalled, 0);
            _watchdog ??= _time.CreateTimer(_ => OnStall(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _watchdog.Change(_options.StallTimeout + _options.ProbeTimeout, Timeout.InfiniteTimeSpan);
        }

        LogStarted(_logger, Name, _uri.Display, w, h, _outputFps);
        return true;
    }

    private void UsePool(int w, int h)
    {
        if (_pool is not null && _pool.Width == w && _pool.Height == h) return;
        if (_pool is not null) LogResolutionChanged(_logger, Name, _pool.Width, _pool.Height, w, h);
        _pool = new FramePool(w, h, _options.PoolCapacity);
        _scratch = new byte[_pool.FrameBytes];
    }

    /// <summary>Starts ffmpeg; its size-change reports count only while it is the current one.</summary>
    private void Launch(List<string> arguments, List<string>? feeder)
    {
        var segment = Interlocked.Increment(ref _segment);
        Volatile.Write(ref _pendingChange, null);
        _segmentFrames = 0;
        _segmentSkip = 0;
        _ffmpeg = new FfmpegProcess(arguments, Name, _logger, (process, change) => OnSizeReported(process, segment, change), feeder);
    }

    /// <summary>With <paramref name="resume"/> ffmpeg reads a stream copy on stdin (<see cref="BuildFeederArguments"/>).</summary>
    private List<string> BuildArguments(int w, int h, bool resume)
    {
        // level+info: every line carries its level, so only errors reach the log as warnings and the tail, while the
        // buffer source's info line about a changed frame size can be read. -nostats: no progress line per second.
        var a = new List<string> { "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info" };
        if (_uri.IsRtsp)
        {
            a.AddRange(["-rtsp_transport", "tcp", "-timeout", Micros(_options.StallTimeout)]);
        }
        else if (!_uri.IsFile)
        {
            a.AddRange(["-rw_timeout", Micros(_options.StallTimeout)]);
        }

        if (_options.Loop && _uri.IsFile && !resume) a.AddRange(["-stream_loop", "-1"]);
        if (_options.Realtime && _uri.IsFile) a.Add("-re");
        // Without this ffmpeg rebuilds its filters for a frame of another size, silently scaling it to the first size.
        a.AddRange(["-reinit_filter", "0"]);
        a.AddRange(resume ? ["-f", "nut", "-i", "pipe:0"] : ["-i", _uri.Value]);
        a.AddRange(["-map", "0:V:0", "-an", "-sn", "-dn"]); // the stream the probe and a resuming stream copy read
        var filters = new List<string>();
        if (_options.SampleFps is { } fps) filters.Add("fps=" + fps.ToString(CultureInfo.InvariantCulture));
        filters.Add($"scale={w}:{h}"); // always: whatever ffmpeg decodes, it writes frames of the pool's size
        a.AddRange(["-vf", string.Join(',', filters)]);
        a.AddRange(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        return a;
    }

    /// <summary>A stream copy of the file's picture from the key frame at <paramref name="from"/> (ffmpeg's timeline) on.</summary>
    private List<string> BuildFeederArguments(double from)
    {
        var a = new List<string> { "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+error" };
        if (_options.Loop) a.AddRange(["-stream_loop", "-1"]);
        // -ss after -i: packets are skipped (not decoded) on ffmpeg's own continuous timeline, the one stream time follows;
        // seeking in the container instead goes wrong where its timestamps jump (two .ts files joined with cat).
        a.AddRange(["-i", _uri.Value, "-map", "0:V:0", "-c", "copy", "-ss", Seconds(Math.Max(0, from)), "-f", "nut", "pipe:1"]);
        return a;
    }

    private static string Seconds(double s) => s.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Micros(TimeSpan t) => ((long)t.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);

    private (int Width, int Height) OutputSize(int sourceWidth, int sourceHeight)
    {
        int w = _options.OutputWidth ?? sourceWidth, h;
        if (_options.OutputHeight is { } oh) h = oh;
        else if (_options.OutputWidth is not null) h = (int)Math.Round(sourceHeight * (double)w / sourceWidth / 2) * 2;
        else h = sourceHeight;
        return (Math.Max(2, w), Math.Max(2, h));
    }

    /// <summary>A file frame's stream time: continuous across the restarts that follow a size change.</summary>
    private TimeSpan FileTime(long sequence) =>
        _segmentStartTime + TimeSpan.FromSeconds((sequence - _segmentStartSequence) / _outputFps);

    /// <summary>On the stderr reader's thread: remembers the first real size change of the current ffmpeg.</summary>
    private void OnSizeReported(FfmpegProcess process, int segment, FrameSizeChange change)
    {
        if (segment != Volatile.Read(ref _segment)) return; // an ffmpeg already replaced
        // The same size as expected: a restarted decoder's first frames (or only the pixel format changed).
        if (change.ToWidth == _sourceWidth && change.ToHeight == _sourceHeight) return;
        var pending = new SizeChange(segment, _sourceWidth, _sourceHeight, change.ToWidth, change.ToHeight, change.PtsSeconds);
        if (Interlocked.CompareExchange(ref _pendingChange, pending, null) is not null) return;
        // A camera reconnects at once: the frames still in the pipe are already scaled. A file is read up to the change.
        if (!_uri.IsFile) process.Stop();
    }

    /// <summary>Whether the current ffmpeg's frame <paramref name="index"/> shows the changed picture or a later one.</summary>
    private bool IsPastChange(SizeChange change, long index)
    {
        if (change.Segment != _segment)
        {
            Interlocked.CompareExchange(ref _pendingChange, null, change);
            return false;
        }

        return !_uri.IsFile || change.At is not { } at || index >= FrameAt(at);
    }

    /// <summary>The output frame that first shows a picture decoded at <paramref name="seconds"/> (ffmpeg rounds to the nearest).</summary>
    private long FrameAt(double seconds) => (long)Math.Round(seconds * _outputFps, MidpointRounding.AwayFromZero);

    /// <summary>Stops the current ffmpeg and goes on at the new size (a file from its frame <paramref name="index"/>, not yet delivered).</summary>
    private async Task OnSizeChangedAsync(SizeChange change, long index)
    {
        var ffmpeg = _ffmpeg!;
        _ffmpeg = null;
        _streaming = false;
        _watchdog?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _pendingChange, null);
        ffmpeg.Stop();
        // Not cancellable: a file must not be left without its decoder (the next read would start it from the beginning).
        await ffmpeg.WaitForExitAsync(TimeSpan.FromSeconds(5));
        ffmpeg.Dispose();
        Interlocked.Exchange(ref _stalled, 0);
        Resume(change, index);
    }

    /// <param name="index">The current ffmpeg's first frame not delivered.</param>
    private void Resume(SizeChange change, long index)
    {
        SizeChanges.Add(1);
        var (w, h) = OutputSize(change.ToWidth, change.ToHeight);
        UsePool(w, h);
        var reason = $"resolution changed from {change.FromWidth}x{change.FromHeight} to {change.ToWidth}x{change.ToHeight}"
            + (w != change.ToWidth || h != change.ToHeight ? $" (frames now {w}x{h})" : "");
        if (!_uri.IsFile)
        {
            // The probe of the reconnect reads the camera's new size; no backoff, nothing failed.
            Reconnects.Add(1);
            Raise(SourceState.Reconnecting, reason + "; reconnecting now");
            return;
        }

        // A stream copy from the changed key frame feeds a new decoder. Its frames up to the first one not delivered are
        // skipped: none, unless the change was noticed late and frames scaled to the old size went out meanwhile.
        var changed = change.At is { } at ? Math.Min(FrameAt(at), index) : index;
        var keyFrame = _segmentOrigin + (change.At ?? index / _outputFps);
        var halfFrame = 0.5 / (_info!.FramesPerSecond ?? _outputFps);
        Raise(SourceState.Starting, reason);
        (_sourceWidth, _sourceHeight) = (change.ToWidth, change.ToHeight);
        _segmentOrigin = keyFrame;
        _segmentStartTime = FileTime(_sequence);
        _segmentStartSequence = _sequence;
        Launch(BuildArguments(w, h, resume: true), BuildFeederArguments(keyFrame - halfFrame));
        _segmentSkip = index - changed;
        LogResumed(_logger, Name, _segmentStartTime.TotalSeconds, w, h);
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
        if (Interlocked.Exchange(ref _pendingChange, null) is { } change && change.Segment == _segment)
        {
            // ffmpeg ended (a camera: was stopped) after reporting a new size; the rest of a file is read again at that size.
            Resume(change, _segmentFrames);
            return;
        }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: decoding again from {Seconds} s at {Width}x{Height}")]
    private static partial void LogResumed(ILogger logger, string camera, double seconds, int width, int height);

    [LoggerMessage(Level = LogLevel.Error, Message = "Camera {Camera}: a health observer failed: {Error}")]
    private static partial void LogObserverFailed(ILogger logger, string camera, string error);
}

/// <summary>A size change reported by the ffmpeg of <paramref name="Segment"/>; <paramref name="At"/> is the changed frame's time on
/// that ffmpeg's timeline (null when ffmpeg gave none).</summary>
internal sealed record SizeChange(int Segment, int FromWidth, int FromHeight, int ToWidth, int ToHeight, double? At);
