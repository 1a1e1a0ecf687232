using CivicLens.Domain.Frames;
using CivicLens.Inference.Detectors;
using CivicLens.Media;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Pipeline.Tests;

/// <summary>Camera loops around the real detector: the live drop policy and batching across cameras.</summary>
public class CameraPipelineTests
{
    [Fact]
    public async Task RunAsync_LiveCameraFasterThanDetector_DropsFramesAndAnalysesEveryOneItKeeps()
    {
        using var detector = CreateDetector(batch: 1);
        await using var batching = new BatchingDetector(detector);
        await using var camera = new GeneratedCamera(320, 240);
        var observer = new CountingObserver();
        var pipeline = new CameraPipeline(camera, batching, motion: null, staticMasks: null, observer,
            new CameraPipelineOptions { UseMotionGate = false }, NullLogger.Instance);

        await RunUntilStoppedAsync(pipeline, new CancellationTokenSource(TimeSpan.FromSeconds(3)));

        // The camera delivers about 500 frames/s; the detector on 2 cores does a few dozen.
        Assert.True(pipeline.FramesDroppedTotal > pipeline.FramesAnalysedCount,
            $"dropped {pipeline.FramesDroppedTotal}, analysed {pipeline.FramesAnalysedCount}");
        Assert.True(pipeline.FramesAnalysedCount >= 5, $"analysed {pipeline.FramesAnalysedCount}");
        Assert.Equal(pipeline.FramesAnalysedCount, observer.Frames);
        // Every frame read was either analysed, dropped, or still queued when the run stopped.
        var unaccounted = pipeline.FramesRead - pipeline.FramesAnalysedCount - (pipeline.FramesDroppedTotal - camera.DroppedFrames);
        Assert.InRange(unaccounted, 0, 3);
        // Every pooled frame came back: nothing leaked on the drop path.
        Assert.Equal(camera.PoolCapacity, camera.PoolAvailable);
    }

    [Fact]
    public async Task RunAsync_ThreeCamerasShareOneDetector_BatchesTheirFramesAndEachKeepsItsOwnTracks()
    {
        const int framesPerCamera = 30;
        using var detector = CreateDetector(batch: 4);
        await using var batching = new BatchingDetector(detector);
        var observers = new List<CountingObserver>();
        var runs = new List<Task>();
        var sources = new List<FfmpegFrameSource>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var source = new FfmpegFrameSource(new FrameSourceOptions { Name = $"cam-{i}", Uri = TestAssets.SampleVideo, SampleFps = 5 },
                    TimeProvider.System, NullLoggerFactory.Instance);
                sources.Add(source);
                var stop = new CancellationTokenSource();
                var observer = new CountingObserver { StopAfter = framesPerCamera, Stop = stop };
                observers.Add(observer);
                var pipeline = new CameraPipeline(source, batching, motion: null, staticMasks: null, observer,
                    new CameraPipelineOptions { UseMotionGate = false }, NullLogger.Instance);
                runs.Add(RunUntilStoppedAsync(pipeline, stop));
            }

            await Task.WhenAll(runs).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (var s in sources) await s.DisposeAsync();
        }

        Assert.All(observers, o => Assert.Equal(framesPerCamera, o.Frames));
        // Unbatched would be 1.0 and perfect 3.0; cameras start staggered, so the first frames go alone.
        var meanBatch = (double)batching.FramesDetected / batching.Batches;
        Assert.True(meanBatch >= 1.5, $"mean batch {meanBatch:0.00} over {batching.Batches} batches");
        // The same footage gives each camera the same people, with ids of its own numbering (ids never cross cameras).
        var counts = observers.Select(o => o.TrackIds.Count).ToList();
        Assert.All(counts, c => Assert.InRange(c, counts.Min(), counts.Min() + 2));
        Assert.All(observers, o => Assert.Contains(1L, o.TrackIds));
    }

    private static async Task RunUntilStoppedAsync(CameraPipeline pipeline, CancellationTokenSource stop)
    {
        try
        {
            await pipeline.RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            stop.Dispose();
        }
    }

    private static NanoDetDetector CreateDetector(int batch)
    {
        var options = AnalysisRunner.DefaultDetectorOptions(TestAssets.ModelsDirectory) with { MaxBatchSize = batch };
        return new NanoDetDetector(options, AnalysisRunner.LoadLabels(options.ModelPath));
    }

    private sealed class CountingObserver : IPipelineObserver
    {
        public long Frames;
        public int StopAfter = int.MaxValue;
        public CancellationTokenSource? Stop;
        public HashSet<long> TrackIds { get; } = [];

        public ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            foreach (var t in analysis.Tracks) TrackIds.Add(t.TrackId);
            if (Interlocked.Increment(ref Frames) == StopAfter) Stop?.Cancel();
            return ValueTask.CompletedTask;
        }

        public void OnHealth(SourceHealth health)
        {
        }
    }

    /// <summary>
    /// A live camera that never waits for its consumer: a square moves across a grey frame at a few hundred
    /// frames a second, from a small pool, and frames that find no free buffer are dropped like a real decoder's.
    /// </summary>
    private sealed class GeneratedCamera(int width, int height) : IFrameSource
    {
        private readonly FramePool _pool = new(width, height, 4);
        private long _sequence;
        private long _dropped;

        public string Name => "generated";
        public bool IsLive => true;
        public long DroppedFrames => Interlocked.Read(ref _dropped);
        public int PoolCapacity => _pool.Capacity;
        public int PoolAvailable => _pool.Available;

        public event Action<SourceHealth>? HealthChanged;

        public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                await Task.Delay(2, cancellationToken);
                var n = _sequence++;
                if (n == 0) HealthChanged?.Invoke(new SourceHealth(Name, SourceState.Streaming, DateTimeOffset.UtcNow, null, width, height));
                if (!_pool.TryRent(out var frame))
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }

                frame.Span.Fill(128);
                var x = (int)(n * 3 % (width - 40));
                for (var y = 100; y < 140; y++) frame.Span.Slice((y * width + x) * 3, 40 * 3).Fill(20);
                frame.Sequence = n;
                frame.StreamTime = TimeSpan.FromMilliseconds(n * 2);
                return frame;
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
