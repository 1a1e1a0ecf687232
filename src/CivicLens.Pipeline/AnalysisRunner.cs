using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Inference.Detectors;
using CivicLens.Inference.Faces;
using CivicLens.Inference.Models;
using CivicLens.Media;
using CivicLens.Media.Motion;
using CivicLens.Pipeline.Output;
using CivicLens.Privacy.Redaction;
using CivicLens.Rules;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline;

/// <summary>What <c>civiclens analyze</c> runs: one source through the whole pipeline.</summary>
public sealed record AnalysisOptions
{
    public required string Source { get; init; }

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

    /// <summary>External signal states pushed while the run goes on (tests, a controller feed).</summary>
    public Action<SignalBoard>? OnSignals { get; init; }
}

public static class AnalysisRunner
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
        var rules = options.ConfigPath is null ? null : LoadRules(options, labels);

        // Fail on an unwritable snapshot folder before decoding a single frame.
        using var faces = options.UseFaceDetector && options.SnapshotDirectory is not null
            ? new FaceDetector(Path.Combine(options.ModelsDirectory, FaceFile), new FaceDetectorOptions())
            : null;
        var redactionOptions = new RedactionOptions();
        var redactor = new FrameRedactor(new RedactionPlanner(redactionOptions, labels, faces), redactionOptions);
        var snapshots = options.SnapshotDirectory is null
            ? null
            : new SnapshotWriter(options.SnapshotDirectory, redactor, loggers.CreateLogger<SnapshotWriter>());

        using var detector = new NanoDetDetector(detectorOptions, labels, loggers.CreateLogger<NanoDetDetector>());
        await using var batching = new BatchingDetector(detector);
        var name = options.CameraName ?? rules?.Camera.Id ?? SourceNames.FromUri(options.Source);
        await using var source = new FfmpegFrameSource(new FrameSourceOptions
        {
            Name = name,
            Uri = options.Source,
            SampleFps = options.SampleFps,
            MaxReconnectAttempts = options.MaxReconnectAttempts,
            Loop = options.Loop,
        }, time, loggers);

        await using var writer = new AnalysisWriter(output, labels, snapshots)
        {
            WriteTracks = options.WriteTracks, WriteObjectEvents = rules is null,
        };
        using var health = rules is null ? null : new CameraHealthMonitor(rules.Value.Camera, time, e => RulesObserver.WriteHealthEvent(writer, e));
        using var rulesObserver = rules is null ? null : new RulesObserver(writer, rules.Value.Engine, health!);
        options.OnSignals?.Invoke(rules?.Signals ?? new SignalBoard([]));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        IPipelineObserver inner = rulesObserver is null ? writer : rulesObserver;
        IPipelineObserver observer = options.MaxFrames is { } max ? new FrameLimit(inner, max, stop) : inner;
        var pipeline = new CameraPipeline(source, batching, new MotionGate(new MotionGateOptions()), redactor, observer,
            new CameraPipelineOptions { UseMotionGate = options.UseMotionGate, Tracker = TrackerDefaults.For(labels) }, loggers.CreateLogger<CameraPipeline>());
        try
        {
            await pipeline.RunAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The frame limit was reached.
        }
        finally
        {
            // Whatever stopped the run (end of file, frame limit, Ctrl-C, a dead camera), flush counts and close
            // open conditions. If the output itself is what failed there is nowhere left to write them.
            if (rulesObserver is not null)
            {
                try
                {
                    await rulesObserver.CompleteAsync(CancellationToken.None);
                }
                catch (IOException)
                {
                }
            }
        }

        writer.Summary.SnapshotsDropped = snapshots?.DroppedCount ?? 0;
        return writer.Summary;
    }

    private static (CameraConfig Camera, CameraRuleEngine Engine, SignalBoard Signals)? LoadRules(AnalysisOptions options, ModelLabels labels)
    {
        var config = ConfigLoader.LoadFile(options.ConfigPath!);
        CameraConfig? camera;
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

        var signals = new SignalBoard(config.Signals);
        return (camera, new CameraRuleEngine(camera, config, labels, signals), signals);
    }

    /// <summary>Stops the run after a number of frames (tests, quick looks).</summary>
    private sealed class FrameLimit(IPipelineObserver inner, long max, CancellationTokenSource stop) : IPipelineObserver
    {
        private long _seen;

        public async ValueTask OnFrameAsync(FrameAnalysis analysis, CancellationToken cancellationToken)
        {
            await inner.OnFrameAsync(analysis, cancellationToken);
            if (Interlocked.Increment(ref _seen) >= max) await stop.CancelAsync();
        }

        public void OnHealth(SourceHealth health) => inner.OnHealth(health);
    }
}

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
