using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;

namespace CivicLens.Pipeline;

/// <summary>
/// Shares one detector between many camera loops and batches their frames: whatever queued while the
/// previous inference ran goes into the next call, up to the detector's batch size. No linger timer:
/// with one camera it adds no latency, with many the batches fill by themselves.
/// </summary>
public sealed class BatchingDetector : IAsyncDisposable
{
    private static readonly Meter Meter = new("CivicLens.Pipeline.Detection");
    private static readonly Histogram<double> InferenceSeconds = Meter.CreateHistogram<double>("civiclens.detector.batch.duration", "s", "Time one detector call (one batch) took");
    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("civiclens.detector.batch.size", "{frame}", "Frames in one detector call");

    private readonly IObjectDetector _detector;
    private readonly Channel<Request> _queue;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private long _frames;
    private long _batches;
    private long _busyTicks;

    public BatchingDetector(IObjectDetector detector, int maxQueued = 256)
    {
        _detector = detector;
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(maxQueued)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // each camera has at most two requests in flight; never drop.
        });
        _loop = Task.Run(RunAsync);
    }

    public ModelLabels Labels => _detector.Labels;

    public long FramesDetected => Interlocked.Read(ref _frames);

    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Frames waiting for the detector now.</summary>
    public int QueueDepth => _queue.Reader.Count;

    /// <summary>Time spent inside the detector (for the benchmark's detector-load figure).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    /// <summary>A reusable request handle for a camera loop (one detection in flight per request).</summary>
    public Request CreateRequest() => new(this);

    private async Task RunAsync()
    {
        var frames = new Frame[_detector.MaxBatchSize];
        var results = new List<Detection>[_detector.MaxBatchSize];
        var batch = new Request[_detector.MaxBatchSize];
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                var n = 0;
                while (n < batch.Length && reader.TryRead(out var r))
                {
                    batch[n] = r;
                    frames[n] = r.Frame!;
                    results[n] = r.Results!;
                    n++;
                }

                if (n == 0) continue;
                var started = Stopwatch.GetTimestamp();
                Exception? failure = null;
                try
                {
                    _detector.Detect(frames.AsSpan(0, n), results.AsSpan(0, n));
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                Interlocked.Add(ref _busyTicks, elapsed.Ticks);
                Interlocked.Add(ref _frames, n);
                Interlocked.Increment(ref _batches);
                InferenceSeconds.Record(elapsed.TotalSeconds);
                BatchSize.Record(n);
                for (var i = 0; i < n; i++)
                {
                    batch[i].Complete(failure);
                    batch[i] = null!;
                    frames[i] = null!;
                    results[i] = null!;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            while (reader.TryRead(out var r)) r.Complete(new ObjectDisposedException(nameof(BatchingDetector)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    /// <summary>
    /// One camera's reusable detection request: completes through a pooled value-task source, so a
    /// detection round trip allocates nothing.
    /// </summary>
    public sealed class Request : IValueTaskSource
    {
        private readonly BatchingDetector _owner;
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private Exception? _error;

        internal Request(BatchingDetector owner) => _owner = owner;

        internal Frame? Frame { get; private set; }

        internal List<Detection>? Results { get; private set; }

        /// <summary>Detects objects in <paramref name="frame"/> into <paramref name="results"/>.</summary>
        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))] // no box per frame
        public async ValueTask DetectAsync(Frame frame, List<Detection> results, CancellationToken cancellationToken)
        {
            _core.Reset();
            _error = null;
            Frame = frame;
            Results = results;
            await _owner._queue.Writer.WriteAsync(this, cancellationToken);
            await new ValueTask(this, _core.Version);
            Frame = null;
            Results = null;
            if (_error is not null)
            {
                throw new InvalidOperationException("Detection failed: " + _error.Message, _error);
            }
        }

        internal void Complete(Exception? error)
        {
            _error = error;
            _core.SetResult(true);
        }

        void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
