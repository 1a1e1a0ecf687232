using CivicLens.Domain.Detection;
using CivicLens.Inference.Detectors;
using CivicLens.Inference.Faces;
using CivicLens.Pipeline.Output;
using CivicLens.Privacy.Redaction;
using CivicLens.Privacy.Sealed;
using CivicLens.Rules.Configuration;
using CivicLens.Rules;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline.Supervision;

/// <summary>What the cameras of one process share: the detector and its models, redaction, evidence and signals.</summary>
public sealed record AnalysisSettings
{
    public required string ModelsDirectory { get; init; }

    /// <summary>Another detector (NanoDet output layout, labels in a manifest beside it), e.g. a city's PPE model.</summary>
    public string? DetectorPath { get; init; }

    public ExecutionProviderKind ExecutionProvider { get; init; } = ExecutionProviderKind.Cpu;

    /// <summary>Largest batch of frames, from any cameras, one detector call takes.</summary>
    public int MaxBatchSize { get; init; } = 8;

    public int IntraOpThreads { get; init; }

    /// <summary>Redacted evidence goes here; null stores none.</summary>
    public string? SnapshotDirectory { get; init; }

    public bool UseFaceDetector { get; init; } = true;

    public SealedOriginalsSettings? SealedOriginals { get; init; }

    /// <summary>
    /// Destroy sealed originals past their window when the services start. Off where a server owns the folder: its
    /// retention pass (at start, then hourly) destroys them too but keeps what a legal hold names, which this cannot see.
    /// </summary>
    public bool PurgeSealedAtStart { get; init; } = true;

    /// <summary>Frames per second each camera analyses (null: every decoded frame).</summary>
    public double? SampleFps { get; init; }

    /// <summary>Play file sources in a loop (a sample file behaves like a live camera).</summary>
    public bool LoopFileSources { get; init; } = true;

    public bool UseMotionGate { get; init; } = true;

    /// <summary>
    /// Where rules keep what must outlive a restart (a scene-change incident's clean reference); null: <c>rule-state/</c>
    /// inside <see cref="SnapshotDirectory"/>, beside the evidence it belongs to (never served: only the folder's top
    /// level is). Without either, nothing is kept and a restart forgets the references.
    /// </summary>
    public string? RuleStateDirectory { get; init; }

    /// <summary>How long a kept reference may wait for its zone to clear: the events' retention.</summary>
    public TimeSpan RuleStateRetention { get; init; } = Rules.Engine.RuleStateSettings.DefaultRetention;

    /// <summary>The rule-state folder and retention the cameras' rules use; null keeps nothing.</summary>
    public Rules.Engine.RuleStateSettings? RuleState =>
        (RuleStateDirectory ?? (SnapshotDirectory is { } s ? Path.Combine(s, "rule-state") : null)) is { } directory
            ? new Rules.Engine.RuleStateSettings(directory, RuleStateRetention)
            : null;
}

/// <summary>
/// The parts every camera of a process shares, built once: one batched detector (frames of all cameras batch
/// together), the redactor and evidence writer, sealed originals, signals and the multi-camera site evidence.
/// A camera's own parts (decoder, tracker, rules) live in its <see cref="CameraWorker"/>.
/// </summary>
public sealed class AnalysisServices : IAsyncDisposable
{
    private readonly NanoDetDetector _detector;
    private readonly FaceDetector? _faces;
    private readonly SealingKey? _sealingKey;

    private AnalysisServices(AnalysisSettings settings, CivicLensConfig district, ModelLabels labels, NanoDetDetector detector, FaceDetector? faces,
        SealingKey? sealingKey, SealedOriginalStore? sealedStore, SnapshotWriter? snapshots, IRuleEventSink sink, Action<Domain.Frames.SourceHealth> onHealth)
    {
        Settings = settings;
        District = district;
        Labels = labels;
        _detector = detector;
        _faces = faces;
        _sealingKey = sealingKey;
        Detector = new BatchingDetector(detector);
        RedactionOptions = new RedactionOptions();
        Planner = new RedactionPlanner(RedactionOptions, labels, faces);
        Redactor = new FrameRedactor(Planner, RedactionOptions);
        Snapshots = snapshots;
        Writer = new AnalysisWriter(Stream.Null, labels, snapshots, onHealth)
        {
            WriteTracks = false,
            WriteObjectEvents = false,
            SealedOriginals = sealedStore,
            EventSink = sink,
        };
        Signals = new SignalBoard(district.Signals, district.TimeZone);
        SiteEvidence = new SiteEvidence([]);
    }

    public AnalysisSettings Settings { get; }

    /// <summary>The district the cameras belong to (sites, signals, departments) that their rules are checked against.</summary>
    public CivicLensConfig District { get; }

    /// <summary>The labels of the detector every camera shares; rules needing other labels are refused.</summary>
    public ModelLabels Labels { get; }

    public BatchingDetector Detector { get; }

    public RedactionOptions RedactionOptions { get; }

    public RedactionPlanner Planner { get; }

    public FrameRedactor Redactor { get; }

    public SnapshotWriter? Snapshots { get; }

    /// <summary>Evidence and events of every camera (serialised inside; events go to the sink, awaited, never dropped).</summary>
    public AnalysisWriter Writer { get; }

    public SignalBoard Signals { get; }

    public SiteEvidence SiteEvidence { get; }

    /// <summary>Loads the models (and checks their labels) and opens the evidence folder; fails before any camera starts.</summary>
    public static AnalysisServices Create(AnalysisSettings settings, CivicLensConfig district, IRuleEventSink sink, Action<Domain.Frames.SourceHealth> onHealth,
        ILoggerFactory loggers, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        var options = AnalysisRunner.DefaultDetectorOptions(settings.ModelsDirectory) with
        {
            ModelPath = settings.DetectorPath ?? Path.Combine(settings.ModelsDirectory, AnalysisRunner.DetectorFile),
            MaxBatchSize = Math.Max(1, settings.MaxBatchSize),
            IntraOpThreads = settings.IntraOpThreads,
            ExecutionProvider = settings.ExecutionProvider,
        };
        var labels = AnalysisRunner.LoadLabels(options.ModelPath);
        var sealingKey = settings.SealedOriginals is { } s ? SealingKey.Load(s.KeyPath) : null;
        var sealedStore = settings.SealedOriginals is { } so
            ? new SealedOriginalStore(new SealedOriginalOptions { Directory = so.Directory, Window = so.Window }, sealingKey!,
                new JsonLinesRevealAudit(Path.Combine(so.Directory, "audit.jsonl")), time)
            : null;
        if (settings.PurgeSealedAtStart) sealedStore?.Purge();
        var faces = settings.UseFaceDetector && settings.SnapshotDirectory is not null
            ? new FaceDetector(Path.Combine(settings.ModelsDirectory, AnalysisRunner.FaceFile), new FaceDetectorOptions())
            : null;
        var redactionOptions = new RedactionOptions();
        var snapshots = settings.SnapshotDirectory is null
            ? null
            : new SnapshotWriter(settings.SnapshotDirectory, new FrameRedactor(new RedactionPlanner(redactionOptions, labels, faces), redactionOptions),
                loggers.CreateLogger<SnapshotWriter>());
        var detector = new NanoDetDetector(options, labels, loggers.CreateLogger<NanoDetDetector>());
        return new AnalysisServices(settings, district, labels, detector, faces, sealingKey, sealedStore, snapshots, sink, onHealth);
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        await Detector.DisposeAsync();
        _detector.Dispose();
        _faces?.Dispose();
        _sealingKey?.Dispose();
    }
}
