using System.CommandLine;
using CivicLens.Inference.Detectors;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Output;

namespace CivicLens.Cli;

/// <summary><c>civiclens analyze &lt;file-or-url&gt;</c>: runs the pipeline and prints JSON lines.</summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var source = new Argument<string?>("source")
        {
            Description = "Video file, rtsp:// or http(s):// stream (omit with --config to run every configured camera from its source)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var snapshot = new Option<string?>("--snapshot") { Description = "Write redacted, annotated frames of events to this folder" };
        var fps = new Option<double?>("--fps") { Description = "Frames per second to analyse (default: every frame)" };
        var name = new Option<string?>("--camera") { Description = "Camera name used in output (default: from the source)" };
        var models = CommonOptions.ModelsDirectory();
        var noMotion = new Option<bool>("--no-motion-gate") { Description = "Run the detector on every frame, even still ones" };
        var noFaces = new Option<bool>("--no-face-detector") { Description = "Redact by head regions only (faster; less thorough)" };
        var batch = new Option<int>("--batch") { Description = "Detector batch size", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = all cores)" };
        var provider = new Option<ExecutionProviderKind>("--provider") { Description = "cpu, or cuda when ONNX Runtime's GPU package is installed" };
        var maxFrames = new Option<long?>("--max-frames") { Description = "Stop after this many frames" };
        var classes = new Option<string[]>("--classes") { Description = "Only these labels (e.g. person car truck)", AllowMultipleArgumentsPerToken = true };
        var minScore = new Option<float>("--min-score") { Description = "Lowest detection score given to the tracker (tracks start at 0.5)", DefaultValueFactory = _ => 0.2f };
        var eventsOnly = new Option<bool>("--events-only") { Description = "Print events only, not every track update" };
        var detectorPath = new Option<string?>("--detector") { Description = "Another ONNX detector (NanoDet layout; labels in PATH.json) instead of the bundled one" };
        var signalFeed = new Option<string?>("--signal-feed") { Description = "File or FIFO of external signal states, one JSON line each ({\"signal\":\"id\",\"state\":\"red\"})" };
        var sealOriginals = new Option<string?>("--seal-originals") { Description = "Keep each event's unredacted frame encrypted in this folder (off by default; needs --sealing-key)" };
        var sealingKey = new Option<string?>("--sealing-key") { Description = "The sealing key file (civiclens keys create), kept outside the database" };
        var sealWindow = new Option<double>("--seal-hours") { Description = "Hours a sealed original is kept before it is destroyed", DefaultValueFactory = _ => 72 };
        var config = new Option<string?>("--config") { Description = "Zones, lines and rules (YAML, see docs/configuration/); events come from these rules" };
        var verbose = CommonOptions.Verbose();

        var command = new Command("analyze", "Analyse a video file or stream; print one JSON line per tracked object update and per event")
        {
            source, snapshot, fps, name, models, noMotion, noFaces, batch, threads, provider, maxFrames, classes, minScore, eventsOnly, config, detectorPath, signalFeed, sealOriginals, sealingKey, sealWindow, verbose,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            using var loggers = Logging.Create(parse.GetValue(verbose));
            var options = new AnalysisOptions
            {
                Source = parse.GetValue(source),
                CameraName = parse.GetValue(name),
                ModelsDirectory = parse.GetValue(models)!,
                SnapshotDirectory = parse.GetValue(snapshot),
                SampleFps = parse.GetValue(fps),
                UseMotionGate = !parse.GetValue(noMotion),
                UseFaceDetector = !parse.GetValue(noFaces),
                BatchSize = parse.GetValue(batch),
                IntraOpThreads = parse.GetValue(threads),
                ExecutionProvider = parse.GetValue(provider),
                MaxFrames = parse.GetValue(maxFrames),
                Classes = (parse.GetValue(classes) ?? []).ToHashSet(StringComparer.OrdinalIgnoreCase),
                ScoreThreshold = parse.GetValue(minScore),
                WriteTracks = !parse.GetValue(eventsOnly),
                ConfigPath = parse.GetValue(config),
                DetectorPath = parse.GetValue(detectorPath),
                SignalFeedPath = parse.GetValue(signalFeed),
                SealedOriginals = parse.GetValue(sealOriginals) is { } sealDir
                    ? new SealedOriginalsSettings(sealDir,
                        parse.GetValue(sealingKey) ?? throw new ArgumentException("--seal-originals needs --sealing-key (create one with 'civiclens keys create PATH')."),
                        TimeSpan.FromHours(parse.GetValue(sealWindow)))
                    : null,
            };
            var stdout = Console.OpenStandardOutput();
            var summary = await AnalysisRunner.RunAsync(options, stdout, loggers, TimeProvider.System, ct);
            await Console.Error.WriteLineAsync(Describe(summary));
            return 0;
        }));
        return command;
    }

    public static string Describe(AnalysisSummary s)
    {
        var byLabel = s.TracksByLabel.OrderByDescending(p => p.Value).Select(p => $"{p.Value} {p.Key}");
        return $"analysed {s.Frames} frames: {s.TrackUpdates} track updates, {s.Events} events; tracked objects: " +
               $"{string.Join(", ", byLabel.DefaultIfEmpty("none"))}; snapshots written {s.Snapshots}, dropped {s.SnapshotsDropped}" +
               (s.RuleEvents.Count == 0 ? "" : "\n  events: " + string.Join(", ", s.RuleEvents.Select(p => $"{p.Value} {p.Key}"))) +
               string.Concat(s.LongestTracks.Select(t => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                   $"\n  longest: {t.Label} #{t.Id} seen {t.First.TotalSeconds:0.0}-{t.Last.TotalSeconds:0.0} s ({t.Duration.TotalSeconds:0.0} s)")));
    }
}
