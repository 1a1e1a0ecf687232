using System.CommandLine;
using System.Text;
using CivicLens.Domain;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Accuracy;
using CivicLens.Rules.Configuration;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens accuracy --truth samples/vtest.truth.yaml</c>: runs the rules configured for a clip on that clip
/// and reports each rule's precision and recall against the hand-labelled truth (docs/accuracy.md).
/// </summary>
internal static class AccuracyCommand
{
    public static Command Create()
    {
        var truth = new Option<string>("--truth") { Description = "Hand-labelled ground truth (YAML, e.g. samples/vtest.truth.yaml)", Required = true };
        var video = new Option<string?>("--video") { Description = "The clip (default: the truth file's video in $CIVICLENS_HOME/samples)" };
        var events = new Option<string?>("--events") { Description = "Score this analyze output (JSON lines) instead of running the analysis" };
        var models = CommonOptions.ModelsDirectory();
        var verbose = CommonOptions.Verbose();
        var command = new Command("accuracy", "Measure each rule's precision and recall on a labelled clip") { truth, video, events, models, verbose };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var truthPath = Path.GetFullPath(parse.GetValue(truth)!);
            var gt = GroundTruth.Load(truthPath);
            var configPath = Path.Combine(Path.GetDirectoryName(truthPath)!, gt.Config);
            var config = ConfigLoader.LoadFile(configPath);
            var camera = config.Cameras.Count == 1
                ? config.Cameras[0]
                : throw new ConfigException($"{configPath} must describe exactly the one camera of the clip.");
            IReadOnlyList<string> lines;
            if (parse.GetValue(events) is { } eventsPath)
            {
                lines = await File.ReadAllLinesAsync(eventsPath, ct);
            }
            else
            {
                var clip = parse.GetValue(video) ?? Path.Combine(CivicLensHome.Resolve().SamplesDirectory, gt.Video);
                using var loggers = Logging.Create(parse.GetValue(verbose));
                using var output = new MemoryStream();
                await AnalysisRunner.RunAsync(new AnalysisOptions
                {
                    Source = clip,
                    ModelsDirectory = parse.GetValue(models)!,
                    ConfigPath = configPath,
                    WriteTracks = false,
                }, output, loggers, TimeProvider.System, ct);
                lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n');
            }

            var scores = AccuracyScorer.Score(gt, camera, AccuracyScorer.ReadEvents(lines));
            await Console.Out.WriteLineAsync(AccuracyScorer.ToMarkdown(scores));
            return 0;
        }));
        return command;
    }
}
