using CivicLens.Pipeline;
using CivicLens.Pipeline.Output;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Server.Api;
using CivicLens.Server.Hosting;
using CivicLens.Storage.Entities;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Ingest;

/// <summary>
/// Runs every configured camera's pipeline inside the server (decode, detect, track, rules, redacted evidence)
/// and journals its events. A pipeline that fails is restarted after a pause; the server stays up.
/// </summary>
public sealed partial class PipelineService(ServerOptions options, CivicLensConfig config, EventJournal journal, ILoggerFactory loggers,
    TimeProvider time, ILogger<PipelineService> logger, CameraRuntimes runtimes, CameraGeometryService geometry) : BackgroundService
{
    /// <summary>Maps a pipeline event to its stored form (adds the camera's area), for the journal.</summary>
    public static Func<EvidencedEvent, EventRecord?> Mapper(CivicLensConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return e =>
        {
            var r = e.Event;
            var camera = config.FindCamera(r.Camera);
            return new EventRecord
            {
                Id = r.Id,
                Kind = r.Kind,
                Phase = r.Phase.ToString().ToLowerInvariant(),
                CameraId = r.Camera,
                Rule = r.Rule,
                Category = r.Category,
                Zone = r.Zone,
                Line = r.Line,
                SiteId = r.Site ?? camera?.Site,
                AreaId = camera is null ? config.District?.Id ?? "district" : DistrictSync.AreaOf(config, camera),
                At = r.At.ToUnixTimeMilliseconds(),
                IncidentId = r.IncidentId,
                Label = r.Label,
                Count = r.Count,
                Confidence = r.Confidence,
                Box = r.Box is { } b ? FormattableString.Invariant($"{b.X:0.#},{b.Y:0.#},{b.Width:0.#},{b.Height:0.#}") : null,
                DurationMs = r.Duration is { } d ? (long)d.TotalMilliseconds : null,
                Direction = r.Direction,
                Detail = r.Detail ?? Counts(r),
                Snapshot = e.Snapshot,
            };
        };
    }

    private static string? Counts(RuleEvent r) =>
        r.Counts is { Count: > 0 } c ? string.Join(", ", c.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")) : null;

    private readonly int _cameras = config.Cameras.Count(c => c.Source is not null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunPipelines || options.ConfigPath is null || options.ModelsDirectory is null || config.Cameras.All(c => c.Source is null)) return;
        // Zones and lines edited in the console win over the file's from the first frame.
        await geometry.LoadAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                LogStarting(logger, _cameras);
                var summary = await AnalysisRunner.RunAsync(new AnalysisOptions
                {
                    ConfigPath = options.ConfigPath,
                    ModelsDirectory = options.ModelsDirectory,
                    SnapshotDirectory = options.SnapshotDirectory,
                    SampleFps = options.SampleFps,
                    Loop = options.LoopFileSources,
                    WriteTracks = false,
                    EventSink = journal,
                    SealedOriginals = options.SealedOriginals,
                    Runtimes = runtimes,
                }, Stream.Null, loggers, time, stoppingToken);
                LogEnded(logger, summary.Frames);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Configuration problems were caught at start; what is left (a model file gone, a disk error) may pass.
                LogFailed(logger, ex);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Starting the pipelines of {Cameras} cameras")]
    private static partial void LogStarting(ILogger logger, int cameras);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipelines ended after {Frames} frames; restarting")]
    private static partial void LogEnded(ILogger logger, long frames);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipelines failed; restarting in 10 s")]
    private static partial void LogFailed(ILogger logger, Exception ex);
}
