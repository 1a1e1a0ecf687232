using System.Diagnostics.Metrics;
using System.Threading.Channels;
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
    private static readonly Counter<long> FramesAnalysed = Meter.CreateCounter<long>("civiclens.pipeline.frames_analysed");
    private static readonly Counter<long> FramesDropped = Meter.CreateCounter<long>("civiclens.pipeline.frames_dropped");
    private static readonly Counter<long> FramesStill = Meter.CreateCounter<long>("civiclens.pipeline.frames_still");

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
                if (_source.IsFinite)
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

    private async Task AnalyseAsync(ChannelReader<Frame> reader, CancellationToken ct)
    {
        var analysis = new FrameAnalysis(Name);
        var request = _detector.CreateRequest();
        try
        {
            await foreach (var frame in reader.ReadAllAsync(ct))
            {
                try
                {
                    if (Interlocked.Exchange(ref _resetRequested, 0) == 1)
                    {
                        _tracker.Reset();
                        _motion?.Reset();
                    }

                    analysis.Frame = frame;
                    analysis.Tracks.Clear();
                    var moving = _motion?.HasMotion(frame) ?? true;
                    analysis.Detected = moving;
                    if (moving)
                    {
                        await request.DetectAsync(frame, analysis.Detections, ct);
                        _tracker.Update(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(analysis.Detections), frame.StreamTime, analysis.Tracks);
                    }
                    else
                    {
                        // Nothing moved: tracks keep their state; the gate forces a detection now and then.
                        analysis.Detections.Clear();
                        Interlocked.Increment(ref _still);
                        FramesStill.Add(1);
                    }

                    await _observer.OnFrameAsync(analysis, ct);
                    Interlocked.Increment(ref _analysed);
                    FramesAnalysed.Add(1);
                }
                finally
                {
                    frame.Release();
                }
            }
        }
        catch (ChannelClosedException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }

    private void OnHealth(SourceHealth health)
    {
        if (health.State is SourceState.Reconnecting or SourceState.Starting)
        {
            // A new connection may show another scene or resolution: old tracks and background are void.
            // The analysis loop owns the tracker and the gate, so it performs the reset.
            Volatile.Write(ref _resetRequested, 1);
        }

        LogHealth(_logger, health.SourceName, health.State, health.Reason);
        _observer.OnHealth(health);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: {State} {Reason}")]
    private static partial void LogHealth(ILogger logger, string camera, SourceState state, string? reason);
}
