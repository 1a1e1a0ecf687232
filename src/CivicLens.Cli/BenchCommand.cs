using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CivicLens.Domain;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Inference.Detectors;
using CivicLens.Media;
using CivicLens.Media.Motion;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Output;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens bench</c>: decode-only, detector-only (batch 1 and N), end-to-end and multi-camera frames/s on real
/// footage, each the median of several runs in one process, plus peak memory and an optional looped soak run.
/// The server's figures are its sub-verbs <c>bench ingest</c> and <c>bench api</c> (<see cref="ServerBenchCommand"/>).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var source = new Option<string?>("--source") { Description = "Video file (default: the bundled sample footage)" };
        var models = CommonOptions.ModelsDirectory();
        var repeats = new Option<int>("--repeats") { Description = "Runs per figure; the median is reported", DefaultValueFactory = _ => 3 };
        var frames = new Option<int>("--frames") { Description = "Frames per detector and end-to-end run", DefaultValueFactory = _ => 120 };
        var batch = new Option<int>("--batch") { Description = "Batch size N for the batched figures", DefaultValueFactory = _ => 4 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = all cores)" };
        var blockBase = new Option<int>("--block-base") { Description = "ONNX Runtime dynamic block base (0 = off)", DefaultValueFactory = _ => 2 };
        var spin = new Option<bool>("--spin") { Description = "Let ONNX Runtime's idle threads spin (off by default)" };
        var soak = new Option<double>("--soak-minutes") { Description = "Also loop the footage end to end this long and sample memory" };
        var config = new Option<string?>("--config") { Description = "Also measure end to end with these rules (e.g. samples/vtest.yaml; its single camera)" };
        var only = new Option<string[]>("--only") { Description = "Only these figures: decode detect e2e cameras", AllowMultipleArgumentsPerToken = true };
        var command = new Command("bench", "Measure decode, detection and end-to-end speed and memory on real footage")
        {
            source, models, repeats, frames, batch, threads, spin, blockBase, soak, only, config,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var home = CivicLensHome.Resolve();
            var b = new Bench(parse.GetValue(source) ?? home.SampleVideo, parse.GetValue(models)!, parse.GetValue(repeats),
                parse.GetValue(frames), parse.GetValue(batch), parse.GetValue(threads), parse.GetValue(spin), parse.GetValue(blockBase))
            {
                ConfigPath = parse.GetValue(config),
            };
            var wanted = (parse.GetValue(only) ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase);
            await b.RunAsync(wanted, parse.GetValue(soak), ct);
            return 0;
        }));
        command.Subcommands.Add(ServerBenchCommand.Ingest());
        command.Subcommands.Add(ServerBenchCommand.Api());
        command.Subcommands.Add(RegistryBenchCommand.Create());
        command.Subcommands.Add(ClusterBenchCommand.Create());
        return command;
    }

    private sealed class Bench(string source, string modelsDir, int repeats, int frames, int batch, int threads, bool spin, int blockBase)
    {
        private readonly List<(string Name, double Median, string Detail)> _rows = [];

        public string? ConfigPath { get; init; }

        public async Task RunAsync(HashSet<string> only, double soakMinutes, CancellationToken ct)
        {
            bool Want(string k) => only.Count == 0 || only.Contains(k);
            await Console.Out.WriteLineAsync($"# civiclens bench: {Path.GetFileName(source)}, {Environment.ProcessorCount} cores, " +
                                             $"{repeats} runs per figure (median), {frames} frames per detector/e2e run, batch N = {batch}, threads = {(threads == 0 ? "all" : threads)}, spinning {(spin ? "on" : "off")}, dynamic block base {blockBase}");
            double decode = 0, detect1 = 0, e2e = 0;
            if (Want("decode")) decode = Record("decode only (all frames, native rate)", await Median(() => DecodeAsync(ct)), "frames/s");
            if (Want("detect"))
            {
                var stills = await LoadFramesAsync(16, ct);
                detect1 = Record("detector only, batch 1", Median(() => Detect(stills, 1)), "frames/s");
                Record($"detector only, batch {batch}", Median(() => Detect(stills, batch)), "frames/s");
            }

            if (Want("e2e"))
            {
                e2e = Record("end to end, 1 camera, motion gate off", await Median(() => EndToEndAsync(false, ct)), "frames/s");
                Record("end to end, 1 camera, motion gate on", await Median(() => EndToEndAsync(true, ct)), "frames/s (still frames skip the detector)");
                if (ConfigPath is not null)
                {
                    Record($"end to end, 1 camera, motion gate off, rules of {Path.GetFileName(ConfigPath)}", await Median(() => EndToEndAsync(false, ct, ConfigPath)),
                        "frames/s (events written, no snapshots)");
                }
            }

            if (Want("cameras"))
            {
                Record($"end to end, {batch} cameras sharing one batch-{batch} detector, gate off", await Median(() => CamerasAsync(batch, ct)), "frames/s, all cameras together");
            }

            await Console.Out.WriteLineAsync();
            await Console.Out.WriteLineAsync("| figure | median | unit |");
            await Console.Out.WriteLineAsync("|---|---:|---|");
            foreach (var (name, median, detail) in _rows)
            {
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"| {name} | {median:0.0} | {detail} |"));
            }

            if (decode > 0 && detect1 > 0 && e2e > 0)
            {
                var slower = Math.Min(decode, detect1);
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"\nend to end / slower of decode-only and detect-only (batch 1) = {e2e:0.0} / {slower:0.0} = {e2e / slower:0.00}"));
            }

            using var self = Process.GetCurrentProcess();
            self.Refresh();
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"peak working set: {self.PeakWorkingSet64 / 1048576.0:0} MiB; managed heap now: {GC.GetTotalMemory(false) / 1048576.0:0} MiB"));
            if (soakMinutes > 0) await SoakAsync(soakMinutes, ct);
        }

        private double Record(string name, double median, string detail)
        {
            _rows.Add((name, median, detail));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: {median:0.0} {detail}"));
            return median;
        }

        private async Task<double> Median(Func<Task<double>> run)
        {
            var results = new List<double>();
            for (var i = 0; i < repeats; i++) results.Add(await run());
            return MedianOf(results);
        }

        private double Median(Func<double> run)
        {
            var results = new List<double>();
            for (var i = 0; i < repeats; i++) results.Add(run());
            return MedianOf(results);
        }

        private static double MedianOf(List<double> v)
        {
            v.Sort();
            return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
        }

        private async Task<double> DecodeAsync(CancellationToken ct)
        {
            await using var src = new FfmpegFrameSource(new FrameSourceOptions { Name = "bench", Uri = source }, TimeProvider.System, NullLoggerFactory.Instance);
            long n = 0;
            var started = 0L;
            while (await src.ReadAsync(ct) is { } f)
            {
                if (n++ == 0) started = Stopwatch.GetTimestamp();
                f.Release();
            }

            return (n - 1) / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        private async Task<Frame[]> LoadFramesAsync(int count, CancellationToken ct)
        {
            // Frames spread over the whole clip, copied out of the pool so they can be reused freely.
            await using var src = new FfmpegFrameSource(new FrameSourceOptions { Name = "bench", Uri = source, SampleFps = 0.2 }, TimeProvider.System, NullLoggerFactory.Instance);
            var list = new List<Frame>();
            while (list.Count < count && await src.ReadAsync(ct) is { } f)
            {
                var copy = Frame.CreateDetached(f.Width, f.Height);
                f.Pixels.AsSpan(0, f.Width * f.Height * 3).CopyTo(copy.Pixels);
                list.Add(copy);
                f.Release();
            }

            return list.ToArray();
        }

        private double Detect(Frame[] stills, int batchSize)
        {
            var options = AnalysisRunner.DefaultDetectorOptions(modelsDir) with { MaxBatchSize = batchSize, IntraOpThreads = threads, AllowSpinning = spin, DynamicBlockBase = blockBase };
            using var detector = new NanoDetDetector(options, AnalysisRunner.LoadLabels(options.ModelPath), NullLogger.Instance);
            var results = Enumerable.Range(0, batchSize).Select(_ => new List<Detection>()).ToArray();
            var input = new Frame[batchSize];
            // One warm-up call: the first run plans memory.
            for (var i = 0; i < batchSize; i++) input[i] = stills[i % stills.Length];
            detector.Detect(input, results);
            var started = Stopwatch.GetTimestamp();
            var done = 0;
            while (done < frames)
            {
                for (var i = 0; i < batchSize; i++) input[i] = stills[(done + i) % stills.Length];
                detector.Detect(input, results);
                done += batchSize;
            }

            return done / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        private async Task<double> EndToEndAsync(bool motionGate, CancellationToken ct, string? config = null)
        {
            var summary = await AnalysisRunner.RunAsync(new AnalysisOptions
            {
                Source = source,
                ModelsDirectory = modelsDir,
                UseMotionGate = motionGate,
                IntraOpThreads = threads,
                AllowSpinning = spin,
                DynamicBlockBase = blockBase,
                MaxFrames = frames,
                ConfigPath = config,
            }, Stream.Null, NullLoggerFactory.Instance, TimeProvider.System, ct);
            return summary.FramesPerSecond;
        }

        private async Task<double> CamerasAsync(int cameras, CancellationToken ct)
        {
            var options = AnalysisRunner.DefaultDetectorOptions(modelsDir) with { MaxBatchSize = cameras, IntraOpThreads = threads, AllowSpinning = spin, DynamicBlockBase = blockBase };
            var labels = AnalysisRunner.LoadLabels(options.ModelPath);
            using var detector = new NanoDetDetector(options, labels, NullLogger.Instance);
            await using var batching = new BatchingDetector(detector);
            var counter = new FrameCounter(frames * cameras);
            var sources = new List<FfmpegFrameSource>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            counter.Stop = stop;
            var runs = new List<Task>();
            for (var i = 0; i < cameras; i++)
            {
                var src = new FfmpegFrameSource(new FrameSourceOptions { Name = $"cam{i}", Uri = source, Loop = true }, TimeProvider.System, NullLoggerFactory.Instance);
                sources.Add(src);
                var p = new CameraPipeline(src, batching, null, null, counter, new CameraPipelineOptions { UseMotionGate = false }, NullLogger.Instance);
                runs.Add(p.RunAsync(stop.Token));
            }

            try
            {
                await Task.WhenAll(runs);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }

            foreach (var s in sources) await s.DisposeAsync();
            return counter.FramesPerSecond;
        }

        // The whole `analyze` path (detector, tracker, JSON output, redacted snapshots) on the footage in a loop.
        private async Task SoakAsync(double minutes, CancellationToken ct)
        {
            await Console.Out.WriteLineAsync($"\n## soak: `analyze` looping {Path.GetFileName(source)} for {minutes} min (motion gate off, snapshots on)");
            await Console.Out.WriteLineAsync("| minute | output lines | snapshots | working set MiB | managed heap MiB (after a full GC) |");
            await Console.Out.WriteLineAsync("|---:|---:|---:|---:|---:|");
            var snapshots = Directory.CreateTempSubdirectory("civiclens-soak-");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await using var output = new LineCounter();
            var run = AnalysisRunner.RunAsync(new AnalysisOptions
            {
                Source = source,
                ModelsDirectory = modelsDir,
                UseMotionGate = false,
                IntraOpThreads = threads,
                AllowSpinning = spin,
                DynamicBlockBase = blockBase,
                Loop = true,
                SnapshotDirectory = snapshots.FullName,
            }, output, NullLoggerFactory.Instance, TimeProvider.System, stop.Token);
            try
            {
                using var self = Process.GetCurrentProcess();
                var step = TimeSpan.FromSeconds(Math.Min(60, minutes * 60 / 5));
                var started = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(started).TotalMinutes < minutes && !run.IsCompleted)
                {
                    await Task.WhenAny(run, Task.Delay(step, ct));
                    // A full collection first, so both columns show what is retained, not garbage awaiting a lazy GC.
                    var heap = GC.GetTotalMemory(forceFullCollection: true);
                    self.Refresh();
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"| {Stopwatch.GetElapsedTime(started).TotalMinutes:0.0} | {output.Lines} | {snapshots.EnumerateFiles().Count()} | {self.WorkingSet64 / 1048576.0:0} | {heap / 1048576.0:0} |"));
                }

                await stop.CancelAsync();
                try
                {
                    await run;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
            finally
            {
                snapshots.Delete(recursive: true);
            }
        }
    }

    /// <summary>A write-only sink that counts the JSON lines written to it.</summary>
    private sealed class LineCounter : Stream
    {
        private long _lines;

        public long Lines => Interlocked.Read(ref _lines);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => Interlocked.Add(ref _lines, buffer.Count((byte)'\n'));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Counts analysed frames across cameras and stops after a number of them.</summary>
    private sealed class FrameCounter(long max) : IPipelineObserver
    {
        private long _count;
        private long _first;
        private long _last;

        public CancellationTokenSource? Stop { get; set; }

        public long Count => Interlocked.Read(ref _count);

        public double FramesPerSecond => Count < 2 ? 0 : (Count - 1) / Stopwatch.GetElapsedTime(_first, _last).TotalSeconds;

        public ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            var now = Stopwatch.GetTimestamp();
            if (Interlocked.Increment(ref _count) == 1) _first = now;
            _last = now;
            if (Count >= max) Stop?.Cancel();
            return ValueTask.CompletedTask;
        }

        public void OnHealth(SourceHealth health)
        {
        }
    }
}
