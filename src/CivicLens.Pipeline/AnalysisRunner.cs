using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Inference.Detectors;
using CivicLens.Inference.Faces;
using CivicLens.Inference.Models;
using CivicLens.Media;
using CivicLens.Media.Motion;
using CivicLens.Pipeline.Output;
using CivicLens.Privacy.Redaction;
using CivicLens.Privacy.Retention;
using CivicLens.Privacy.Sealed;
using CivicLens.Rules;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline;

/// <summary>
/// What <c>civiclens analyze</c> runs: one source through the whole pipeline, or, with a configuration and no
/// source, every configured camera that has one (sharing one detector).
/// </summary>
public sealed record AnalysisOptions
{
    /// <summary>File or stream; null runs every camera of <see cref="ConfigPath"/> from its configured source.</summary>
    public string? Source { get; init; }

    /// <summary>The camera's name in output; defaults to the file name or host (never the URL with credentials).</summary>
    public string? CameraName { get; init; }

    public required string ModelsDirectory { get; init; }

    /// <summary>Another detector (NanoDet output layout, labels in a manifest beside it) instead of the bundled one.</summary>
    public string? DetectorPath { get; init; }

    public string? SnapshotDirectory { get; init; }

    /// <summary>Frames per second to analyse; null analyses every decoded frame.</summary>
    public double? SampleFps { get; init; }

    public bool UseMotionGate { get; init; } = true;

    /// <summary>Also run the face detector for redaction (on the frame and person crops); the head-region fallback always applies.</summary>
    public bool UseFaceDetector { get; init; } = true;

    public int BatchSize { get; init; } = 1;

    public int IntraOpThreads { get; init; }

    /// <summary>See <see cref="DetectorOptions.AllowSpinning"/>.</summary>
    public bool AllowSpinning { get; init; }

    /// <summary>See <see cref="DetectorOptions.DynamicBlockBase"/>.</summary>
    public int DynamicBlockBase { get; init; } = 2;

    public ExecutionProviderKind ExecutionProvider { get; init; } = ExecutionProviderKind.Cpu;

    /// <summary>Stop after this many analysed frames (null: until the source ends).</summary>
    public long? MaxFrames { get; init; }

    public IReadOnlySet<string> Classes { get; init; } = new HashSet<string>();

    /// <summary>Lowest detection score passed on: low-score boxes keep existing tracks alive (ByteTrack's second stage); tracks start at the tracker's NewTrackThreshold.</summary>
    public float ScoreThreshold { get; init; } = 0.2f;

    public bool WriteTracks { get; init; } = true;

    public int? MaxReconnectAttempts { get; init; }

    /// <summary>Play a file source in a loop (soak runs); combine with <see cref="MaxFrames"/>.</summary>
    public bool Loop { get; init; }

    /// <summary>Rules configuration (YAML); the camera is <see cref="CameraName"/>, or the file's only camera.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Keep each event's unredacted frame sealed (off unless set): folder, key file and window.</summary>
    public SealedOriginalsSettings? SealedOriginals { get; init; }

    /// <summary>A file or FIFO of external signal states as JSON lines (see <see cref="SignalFeed"/>); read while the run goes on.</summary>
    public string? SignalFeedPath { get; init; }

    /// <summary>Also hand every event to this store (the server); see <see cref="IRuleEventSink"/>.</summary>
    public IRuleEventSink? EventSink { get; init; }

    /// <summary>External signal states pushed while the run goes on (tests, a controller feed).</summary>
    public Action<SignalBoard>? OnSignals { get; init; }

    /// <summary>The server's view of its running cameras: load, the redacted live view, geometry edits applied without a restart.</summary>
    public CameraRuntimes? Runtimes { get; init; }
}

public static partial class AnalysisRunner
{
    public const string DetectorFile = "nanodet-g-416.onnx";
    public const string FaceFile = "blazeface-back-256.onnx";

    /// <summary>The default detector's settings, as tuned in docs/benchmarks.md and docs/accuracy.md.</summary>
    public static DetectorOptions DefaultDetectorOptions(string modelsDirectory) => new()
    {
        ModelPath = Path.Combine(modelsDirectory, DetectorFile),
        ScoreThreshold = 0.2f,
        // Far-away specks are not actionable and are the bulk of false positives on CCTV.
        MinHeightByClass = new Dictionary<string, float> { ["person"] = 12f },
    };

    /// <summary>Reads the labels a model declares in its manifest (COCO-80 for the bundled detector).</summary>
    public static ModelLabels LoadLabels(string modelPath)
    {
        var manifestPath = Path.ChangeExtension(modelPath, ".json");
        var labels = File.Exists(manifestPath) ? new ModelLabels(ModelManifest.Load(manifestPath).Labels) : ModelLabels.Coco80;
        ModelLabelGuard.EnsureAllowed(labels.Names, Path.GetFileName(modelPath));
        return labels;
    }

    public static async Task<AnalysisSummary> RunAsync(AnalysisOptions options, Stream output, ILoggerFactory loggers,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var detectorOptions = DefaultDetectorOptions(options.ModelsDirectory) with
        {
            ModelPath = options.DetectorPath ?? Path.Combine(options.ModelsDirectory, DetectorFile),
            MaxBatchSize = options.BatchSize,
            IntraOpThreads = options.IntraOpThreads,
            AllowSpinning = options.AllowSpinning,
            DynamicBlockBase = options.DynamicBlockBase,
            ExecutionProvider = options.ExecutionProvider,
            Classes = options.Classes,
            ScoreThreshold = options.ScoreThreshold,
        };
        var labels = LoadLabels(detectorOptions.ModelPath);
        // Rules are checked against the configuration and the model before any frame is decoded.
        var config = options.ConfigPath is null ? null : ConfigLoader.LoadFile(options.ConfigPath);
        var cameras = PlanCameras(options, config, labels);

        // Sealed originals (off unless turned on): a missing or exposed key stops the run before anything is decoded.
        using var sealingKey = options.SealedOriginals is { } sealing ? SealingKey.Load(sealing.KeyPath) : null;
        var sealedStore = options.SealedOriginals is { } s
            ? new SealedOriginalStore(new SealedOriginalOptions { Directory = s.Directory, Window = s.Window }, sealingKey!,
                new JsonLinesRevealAudit(Path.Combine(s.Directory, "audit.jsonl")), time)
            : null;
        // Originals past their window are destroyed before new ones are added.
        sealedStore?.Purge();

        // Each camera's redacted evidence is kept for the camera's retention, legal holds excepted.
        if (options.SnapshotDirectory is not null)
        {
            foreach (var (_, _, camera) in cameras)
            {
                if (camera?.Retention is { } retention)
                {
                    new EvidenceRetention(options.SnapshotDirectory, retention, time) { FilePrefix = camera.Id + "-" }.Purge();
                }
            }
        }

        // Fail on an unwritable snapshot folder before decoding a single frame.
        using var faces = options.UseFaceDetector && options.SnapshotDirectory is not null
            ? new FaceDetector(Path.Combine(options.ModelsDirectory, FaceFile), new FaceDetectorOptions())
            : null;
        var redactionOptions = new RedactionOptions();
        var planner = new RedactionPlanner(redactionOptions, labels, faces);
        var redactor = new FrameRedactor(planner, redactionOptions);
        var snapshots = options.SnapshotDirectory is null
            ? null
            : new SnapshotWriter(options.SnapshotDirectory, redactor, loggers.CreateLogger<SnapshotWriter>());

        using var detector = new NanoDetDetector(detectorOptions with { MaxBatchSize = Math.Max(options.BatchSize, cameras.Count) }, labels,
            loggers.CreateLogger<NanoDetDetector>());
        await using var batching = new BatchingDetector(detector);
        await using var writer = new AnalysisWriter(output, labels, snapshots)
        {
            WriteTracks = options.WriteTracks,
            WriteObjectEvents = config is null,
            SealedOriginals = sealedStore,
            EventSink = options.EventSink,
        };
        var signals = new SignalBoard(config?.Signals ?? [], config?.TimeZone);
        options.OnSignals?.Invoke(signals);
        using var feedStop = new CancellationTokenSource();
        var feed = options.SignalFeedPath is null ? Task.CompletedTask : ReadSignalFeedAsync(options.SignalFeedPath, signals, time, loggers, feedStop.Token);
        var evidence = config is null ? null : new SiteEvidence(config.Cameras);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var limit = options.MaxFrames is { } max ? new FrameBudget(max * cameras.Count, stop) : null;

        var runs = new List<CameraRun>();
        try
        {
            foreach (var (name, uri, camera) in cameras)
            {
                var source = new FfmpegFrameSource(new FrameSourceOptions
                {
                    Name = name,
                    Uri = uri,
                    SampleFps = options.SampleFps,
                    MaxReconnectAttempts = options.MaxReconnectAttempts,
                    Loop = options.Loop,
                }, time, loggers);
                CameraHealthMonitor? health = null;
                RulesObserver? rules = null;
                CameraRuntime? runtime = null;
                CameraPipeline? started = null;
                if (camera is not null)
                {
                    health = new CameraHealthMonitor(camera, time, e => RulesObserver.WriteHealthEvent(writer, e));
                    var cam = camera;
                    runtime = options.Runtimes?.Start(cam.Id, () => started is null ? default : new CameraCounters(started.FramesRead,
                        started.FramesAnalysedCount, started.FramesDroppedTotal, started.FramesAnalysedCount - started.FramesStillCount, batching.BusyTime, batching.FramesDetected));
                    CameraRuleEngine Build() => new(options.Runtimes?.GeometryOf(cam.Id).ApplyTo(cam) ?? cam, config!, labels, signals);
                    CameraRuleEngine engine;
                    try
                    {
                        engine = Build();
                    }
                    catch (ConfigException)
                    {
                        // Edits are validated against the rules when saved; should one no longer fit, the file's geometry still runs.
                        engine = new CameraRuleEngine(cam, config!, labels, signals);
                    }

                    rules = new RulesObserver(writer, engine, health, evidence) { Runtime = runtime, Rebuild = runtime is null ? null : Build };
                }

                IPipelineObserver observer = rules is null ? writer : rules;
                if (limit is not null) observer = new FrameLimit(observer, limit);
                // A camera's privacy masks are blacked out in the frame itself, before detection, evidence or sealing see it.
                var masks = camera is { PrivacyMasks.Count: > 0 }
                    ? new FrameRedactor(planner, redactionOptions, camera.PrivacyMasks.Select(m => m.Polygon).ToList(), (camera.Width, camera.Height))
                    : redactor;
                var pipeline = new CameraPipeline(source, batching, new MotionGate(new MotionGateOptions()), masks, observer,
                    new CameraPipelineOptions { UseMotionGate = options.UseMotionGate, Tracker = TrackerDefaults.For(labels) },
                    loggers.CreateLogger<CameraPipeline>());
                started = pipeline;
                runs.Add(new CameraRun(source, pipeline, rules, health, runtime));
            }

            // Every camera runs until its source ends; a failing camera fails the run once the others have stopped.
            var tasks = runs.Select(r => RunOneAsync(r, stop, cancellationToken)).ToList();
            var pending = tasks.ToList();
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                if (done.IsFaulted) await stop.CancelAsync();
            }

            await Task.WhenAll(tasks);
        }
        finally
        {
            await feedStop.CancelAsync();
            await feed;
            foreach (var r in runs)
            {
                if (r.Runtime is not null) options.Runtimes!.Stop(r.Runtime);
                r.Rules?.Dispose();
                await r.Source.DisposeAsync();
            }
        }

        writer.Summary.SnapshotsDropped = snapshots?.DroppedCount ?? 0;
        return writer.Summary;
    }

    private static async Task ReadSignalFeedAsync(string path, SignalBoard signals, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger<SignalFeed>();
        try
        {
            using var reader = new StreamReader(path);
            await new SignalFeed(signals, time).RunAsync(reader, problem => LogFeedRejected(logger, path, problem), ct);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException ex)
        {
            // The signals go unknown after their max_age; the rules reading them report themselves degraded.
            LogFeedUnreadable(logger, path, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signal feed {Path}: line rejected: {Problem}")]
    private static partial void LogFeedRejected(ILogger logger, string path, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signal feed {Path} cannot be read: {Error}")]
    private static partial void LogFeedUnreadable(ILogger logger, string path, string error);

    private sealed record CameraRun(FfmpegFrameSource Source, CameraPipeline Pipeline, RulesObserver? Rules, CameraHealthMonitor? Health, CameraRuntime? Runtime);

    private static async Task RunOneAsync(CameraRun run, CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        try
        {
            await run.Pipeline.RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The frame limit was reached, or another camera failed.
        }
        finally
        {
            // Whatever stopped the run (end of file, frame limit, Ctrl-C, a dead camera), flush counts and close
            // open conditions. If the output itself is what failed there is nowhere left to write them.
            if (run.Rules is not null)
            {
                try
                {
                    await run.Rules.CompleteAsync(CancellationToken.None);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>Which cameras to run: the given source (as the configured camera it shows), or every configured camera with a source.</summary>
    private static List<(string Name, string Uri, CameraConfig? Camera)> PlanCameras(AnalysisOptions options, CivicLensConfig? config, ModelLabels labels)
    {
        var plan = new List<(string, string, CameraConfig?)>();
        if (config is null)
        {
            if (options.Source is null) throw new ArgumentException("Give a source to analyse, or a configuration whose cameras have sources.");
            plan.Add((options.CameraName ?? SourceNames.FromUri(options.Source), options.Source, null));
            return plan;
        }

        if (options.Source is not null)
        {
            CameraConfig camera;
            if (options.CameraName is { } wanted)
            {
                camera = config.FindCamera(wanted)
                    ?? throw new ConfigException($"Camera '{wanted}' is not in {options.ConfigPath} (cameras: {string.Join(", ", config.Cameras.Select(c => c.Id))}).");
            }
            else if (config.Cameras.Count == 1)
            {
                camera = config.Cameras[0];
            }
            else
            {
                throw new ConfigException($"{options.ConfigPath} has {config.Cameras.Count} cameras; name the one this source shows with --camera.");
            }

            plan.Add((camera.Id, options.Source, camera));
        }
        else
        {
            var missing = config.Cameras.Where(c => c.Source is null).Select(c => c.Id).ToList();
            if (missing.Count > 0 || config.Cameras.Count == 0)
            {
                throw new ConfigException($"{options.ConfigPath}: without a source on the command line every camera needs a 'source' (missing: {string.Join(", ", missing)}).");
            }

            var baseDir = Path.GetDirectoryName(Path.GetFullPath(options.ConfigPath!))!;
            foreach (var c in config.Cameras)
            {
                // Relative file sources are relative to the configuration file.
                var uri = Uri.TryCreate(c.Source, UriKind.Absolute, out var u) && !u.IsFile ? c.Source! : Path.Combine(baseDir, c.Source!);
                plan.Add((c.Id, uri, c));
            }
        }

        // Build every camera's engine once now, so every rule problem is reported before decoding starts.
        CheckRunnable(plan.Select(p => p.Item3!), config, labels);
        return plan;
    }

    /// <summary>
    /// Cameras checked as they would run: purpose before power, and their rules built against the detector's labels
    /// and the district's signals (a PPE rule on a model without PPE labels). Every problem at once; throws
    /// <see cref="ConfigException"/>. <c>analyze</c>, <c>serve</c> and <c>district import</c> all check this way.
    /// </summary>
    public static void CheckRunnable(IEnumerable<CameraConfig> cameras, CivicLensConfig config, ModelLabels labels)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        ArgumentNullException.ThrowIfNull(config);
        var errors = new List<ConfigError>();
        foreach (var camera in cameras)
        {
            errors.AddRange(camera.MissingAccountability());
            try
            {
                _ = new CameraRuleEngine(camera, config, labels, new SignalBoard(config.Signals, config.TimeZone));
            }
            catch (ConfigException ex)
            {
                errors.AddRange(ex.Errors.Count > 0 ? ex.Errors : [new ConfigError(config.SourceFile ?? "config", 0, 0, $"cameras[{camera.Id}]", ex.Message)]);
            }
        }

        if (errors.Count > 0) throw new ConfigException(errors);
    }

    /// <summary>Frames all cameras may analyse together before the run stops (tests, quick looks).</summary>
    private sealed class FrameBudget(long max, CancellationTokenSource stop)
    {
        private long _seen;

        public async ValueTask CountAsync()
        {
            if (Interlocked.Increment(ref _seen) >= max) await stop.CancelAsync();
        }
    }

    private sealed class FrameLimit(IPipelineObserver inner, FrameBudget budget) : IPipelineObserver
    {
        public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            await inner.OnFrameAsync(analysis, cancellationToken);
            await budget.CountAsync();
        }

        public void OnHealth(SourceHealth health) => inner.OnHealth(health);
    }
}

/// <summary>Sealed originals as a run turns them on: where, with which key, for how long.</summary>
public sealed record SealedOriginalsSettings(string Directory, string KeyPath, TimeSpan Window);

/// <summary>Safe display names for sources: never echo a URL, which may carry credentials.</summary>
public static class SourceNames
{
    public static string FromUri(string source)
    {
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            var last = uri.Segments.Length > 0 ? uri.Segments[^1].Trim('/') : "";
            return string.IsNullOrEmpty(last) ? uri.Host : $"{uri.Host}-{last}";
        }

        return Path.GetFileNameWithoutExtension(source);
    }
}
