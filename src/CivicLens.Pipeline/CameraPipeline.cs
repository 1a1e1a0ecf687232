using System.Diagnostics.Metrics;
using System.Threading.Channels;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Tracking;
using CivicLens.Media.Motion;
using CivicLens.Privacy.Redaction;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline;

/// <summary>Settings of one camera loop.</summary>
public sealed record CameraPipelineOptions
{
    /// <summary>Decoded frames waiting for analysis. Small on purpose: a live camera that outruns the detector drops old frames, not events.</summary>
    public int QueueCapacity { get; init; } = 2;

    /// <summary>Skip the detector on frames where nothing moved.</summary>
    public bool UseMotionGate { get; init; } = true;

    public TrackerOptions Tracker { get; init; } = new();
}

/// <summary>
/// One supervised loop per camera: capture -> (static privacy masks) -> motion gate -> batched detection ->
/// tracking -> observers. Capture and analysis run concurrently over a bounded channel; a live source whose
/// frames arrive faster than they are analysed loses frames (counted), a file waits.
/// </summary>
public sealed partial class CameraPipeline
{
    private static readonly Meter Meter = new("CivicLens.Pipeline");
    private static readonly Counter<long> FramesAnalysed = Meter.CreateCounter<long>("civiclens.pipeline.frames_analysed", "{frame}", "Frames analysed by all cameras of this process");
    private static readonly Counter<long> FramesDropped = Meter.CreateCounter<long>("civiclens.pipeline.frames_dropped", "{frame}", "Frames dropped because analysis fell behind a live camera");
    private static readonly Counter<long> FramesStill = Meter.CreateCounter<long>("civiclens.pipeline.frames_still", "{frame}", "Frames the motion gate let past the detector (nothing moved)");

    private readonly IFrameSource _source;
    private readonly BatchingDetector _detector;
    private readonly MotionGate? _motion;
    private readonly FrameRedactor? _masks;
    private readonly IPipelineObserver _observer;
    private readonly CameraPipelineOptions _options;
    private readonly ILogger _logger;
    private readonly ObjectTracker _tracker;
    private long _read;
    private long _dropped;
    private long _analysed;
    private long _still;
    private int _resetRequested;

    public CameraPipeline(IFrameSource source, BatchingDetector detector, MotionGate? motion, FrameRedactor? staticMasks,
        IPipelineObserver observer, CameraPipelineOptions options, ILogger logger)
    {
        _source = source;
        _detector = detector;
        _motion = options.UseMotionGate ? motion : null;
        _masks = staticMasks;
        _observer = observer;
        _options = options;
        _logger = logger;
        _tracker = new ObjectTracker(options.Tracker);
        _source.HealthChanged += OnHealth;
    }

    public string Name => _source.Name;

    public long FramesRead => Interlocked.Read(ref _read);

    /// <summary>Frames lost because analysis fell behind (live sources), plus those the decoder dropped for lack of buffers.</summary>
    public long FramesDroppedTotal => Interlocked.Read(ref _dropped) + _source.DroppedFrames;

    public long FramesAnalysedCount => Interlocked.Read(ref _analysed);

    public long FramesStillCount => Interlocked.Read(ref _still);

    /// <summary>Runs until the source ends (files) or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var queue = Channel.CreateBounded<Frame>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var capture = CaptureAsync(queue.Writer, linked.Token);
        try
        {
            await AnalyseAsync(queue.Reader, linked.Token);
        }
        finally
        {
            await linked.CancelAsync();
            try
            {
                await capture;
            }
            catch (OperationCanceledException)
            {
            }

            while (queue.Reader.TryRead(out var left)) left.Release();
        }

        await capture; // surfaces a source failure (FrameSourceException) to the caller
    }

    private async Task CaptureAsync(ChannelWriter<Frame> writer, CancellationToken ct)
    {
        Exception? failure = null;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var frame = await _source.ReadAsync(ct);
                if (frame is null) break;
                Interlocked.Increment(ref _read);
                _masks?.ApplyStaticMasks(frame.Pixels.AsSpan(0, frame.Width * frame.Height * 3), frame.Width, frame.Height);
                if (!_source.IsLive)
                {
                    await writer.WriteAsync(frame, ct);
                }
                else if (!writer.TryWrite(frame))
                {
                    // Live: analysis is behind. Drop this frame (never an event) and keep the decoder flowing.
                    frame.Release();
                    Interlocked.Increment(ref _dropped);
                    FramesDropped.Add(1);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            failure = ex;
            throw;
        }
        finally
        {
            writer.TryComplete(failure);
        }
    }

    // Two frames are in hand at a time: the detector works on the newer one while this loop tracks and reports
    // the older, so the detector never idles waiting for the tracker, the observers or the next read.
    private async Task AnalyseAsync(ChannelReader<Frame> reader, CancellationToken ct)
    {
        var analysis = new FrameAnalysis(Name);
        var slots = new[] { new Slot(_detector.CreateRequest()), new Slot(_detector.CreateRequest()) };
        var next = 0;
        Slot? pending = null;
        try
        {
            await foreach (var frame in reader.ReadAllAsync(ct))
            {
                if (ct.IsCancellationRequested)
                {
                    frame.Release(); // ReadAllAsync hands out queued frames even after cancellation
                    ct.ThrowIfCancellationRequested();
                }

                var slot = slots[next];
                next ^= 1;
                slot.Frame = frame;
                if (Interlocked.Exchange(ref _resetRequested, 0) == 1)
                {
                    // A new connection: old tracks and background are void from this frame on.
                    _motion?.Reset();
                    slot.ResetTracker = true;
                }

                slot.Detected = _motion?.HasMotion(frame) ?? true;
#pragma warning disable CA2012 // kept to overlap detection with tracking; awaited exactly once (FinishAsync or the finally)
                slot.Pending = slot.Detected ? slot.Request.DetectAsync(frame, slot.Detections, ct) : ValueTask.CompletedTask;
#pragma warning restore CA2012
                if (pending is not null) await FinishAsync(pending, analysis, ct);
                pending = slot;
            }

            if (pending is not null) await FinishAsync(pending, analysis, ct);
            pending = null;
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
        finally
        {
            // A frame still with the detector is released only once the detector is done reading it.
            foreach (var slot in slots)
            {
                if (slot.Frame is null) continue;
                try
                {
                    await slot.Pending;
                }
                catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or ObjectDisposedException)
                {
                }

                slot.Frame.Release();
                slot.Frame = null;
            }
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))] // no box per frame
    private async ValueTask FinishAsync(Slot slot, FrameAnalysis analysis, CancellationToken ct)
    {
        var frame = slot.Frame!;
        try
        {
            await slot.Pending;
            analysis.Restarted = false;
            if (slot.ResetTracker)
            {
                _tracker.Reset();
                slot.ResetTracker = false;
                analysis.Alive.Clear();
                analysis.Restarted = true;
            }

            analysis.Frame = frame;
            analysis.Detected = slot.Detected;
            analysis.Tracks.Clear();
            analysis.Detections.Clear();
            if (slot.Detected)
            {
                analysis.Detections.AddRange(slot.Detections);
                _tracker.Update(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(analysis.Detections), frame.StreamTime, analysis.Tracks);
                analysis.Alive.Clear();
                analysis.Alive.AddRange(_tracker.Tracks);
            }
            else
            {
                // Nothing moved: tracks keep their state; the gate forces a detection now and then.
                Interlocked.Increment(ref _still);
                FramesStill.Add(1);
            }

            await _observer.OnFrameAsync(analysis, ct);
            Interlocked.Increment(ref _analysed);
            FramesAnalysed.Add(1);
        }
        finally
        {
            slot.Pending = default; // consumed; a completed stand-in until the slot's next frame
            slot.Frame = null;
            frame.Release();
        }
    }

    /// <summary>One frame on its way through detection, with the reusable request and result list it uses.</summary>
    private sealed class Slot(BatchingDetector.Request request)
    {
        public BatchingDetector.Request Request { get; } = request;
        public List<Detection> Detections { get; } = new(64);
        public Frame? Frame { get; set; }
        /// <summary>The detection in flight; awaited exactly once.</summary>
        public ValueTask Pending { get; set; }
        public bool Detected { get; set; }
        public bool ResetTracker { get; set; }
    }

    private void OnHealth(SourceHealth health)
    {
        if (health.State is SourceState.Reconnecting or SourceState.Starting)
        {
            // A new connection may show another scene or resolution: old tracks and background are void.
            // The analysis loop owns the tracker and the gate, so it performs the reset.
            Volatile.Write(ref _resetRequested, 1);
        }

        if (health.Reason is { } reason) LogHealthWithReason(_logger, health.SourceName, health.State, reason);
        else LogHealth(_logger, health.SourceName, health.State);
        _observer.OnHealth(health);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: {State}")]
    private static partial void LogHealth(ILogger logger, string camera, SourceState state);

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: {State} ({Reason})")]
    private static partial void LogHealthWithReason(ILogger logger, string camera, SourceState state, string reason);
}
