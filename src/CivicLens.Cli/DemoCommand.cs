using System.CommandLine;
using CivicLens.Domain;
using CivicLens.Pipeline;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens demo</c>: analyses the bundled sample footage with the bundled models and reports what it found.
/// This is what <c>./run.sh</c> starts until the operations server exists.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var fps = new Option<double?>("--fps") { Description = "Frames per second to analyse (default: every frame)" };
        var config = new Option<string?>("--config") { Description = "Zones and rules drawn on the sample (e.g. samples/vtest.yaml)" };
        var verbose = CommonOptions.Verbose();
        var command = new Command("demo", "Analyse the bundled sample footage and summarise what was found") { fps, config, verbose };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var home = CivicLensHome.Resolve();
            if (!File.Exists(home.SampleVideo))
            {
                throw new FileNotFoundException($"Sample footage not found at {home.SampleVideo}. Run ./run.sh (it installs it from Debian's opencv-doc).");
            }

            var outDir = Path.Combine(home.Root, "demo");
            var snapshots = Path.Combine(outDir, "snapshots");
            Directory.CreateDirectory(outDir);
            var eventsPath = Path.Combine(outDir, "events.jsonl");
            using var loggers = Logging.Create(parse.GetValue(verbose));
            await Console.Out.WriteLineAsync($"Analysing {home.SampleVideo} with the bundled NanoDet-g 416 detector ...");
            var started = TimeProvider.System.GetTimestamp();
            // Written under a temporary name and renamed when complete: an interrupted demo leaves no half log.
            var partial = eventsPath + ".partial";
            await using (var events = new FileStream(partial, FileMode.Create, FileAccess.Write))
            {
                var summary = await AnalysisRunner.RunAsync(new AnalysisOptions
                {
                    Source = home.SampleVideo,
                    CameraName = parse.GetValue(config) is null ? "sample-walkway" : null,
                    ConfigPath = parse.GetValue(config),
                    ModelsDirectory = home.ModelsDirectory,
                    SnapshotDirectory = snapshots,
                    SampleFps = parse.GetValue(fps),
                }, events, loggers, TimeProvider.System, ct);
                var elapsed = TimeProvider.System.GetElapsedTime(started);
                await Console.Out.WriteLineAsync(AnalyzeCommand.Describe(summary));
                await Console.Out.WriteLineAsync($"took {elapsed.TotalSeconds:0.0} s ({summary.Frames / Math.Max(elapsed.TotalSeconds, 0.001):0.0} frames/s)");
            }

            File.Move(partial, eventsPath, overwrite: true);
            await Console.Out.WriteLineAsync($"events and track updates: {eventsPath}");
            await Console.Out.WriteLineAsync($"redacted snapshots:       {snapshots}");
            return 0;
        }));
        return command;
    }
}
