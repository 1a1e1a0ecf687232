using CivicLens.Domain.Cameras;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Output;
using CivicLens.Pipeline.Supervision;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Server.Api;
using CivicLens.Server.Hosting;
using CivicLens.Server.Ingest;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Cameras;

/// <summary>
/// Runs the registry's enabled cameras in this process, one supervised runtime each (see <see cref="CameraSupervisor"/>),
/// and keeps them in step with the registry: a change made here is applied at once, one made by another process
/// (an import, another hub) within <see cref="ServerOptions.RegistryPollInterval"/>. Health goes to the registry as changes.
/// </summary>
public sealed partial class CameraHost(ServerOptions options, CameraCatalog catalog, IDbContextFactory<CivicLensDb> dbs, EventJournal journal,
    CameraStateStore states, RegistrySignal signal, CameraRuntimes runtimes, CameraGeometryService geometry, ILoggerFactory loggers, TimeProvider time,
    ILogger<CameraHost> logger) : BackgroundService
{
    private readonly Dictionary<string, (int Version, CameraSpec? Spec)> _known = new(StringComparer.Ordinal);
    private long _watermark = -1;
    private CameraSupervisor? _supervisor;

    /// <summary>Fault injection and faster retries for tests; production uses the defaults.</summary>
    public CameraSupervisorOptions SupervisorOptions { get; init; } = new();

    /// <summary>The cameras running here (null until started, or when this server runs none).</summary>
    public CameraSupervisor? Supervisor => _supervisor;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunPipelines || options.ModelsDirectory is null) return;
        try
        {
            _supervisor = new CameraSupervisor(new AnalysisSettings
            {
                ModelsDirectory = options.ModelsDirectory,
                DetectorPath = options.DetectorPath,
                ExecutionProvider = options.ExecutionProvider,
                SnapshotDirectory = options.SnapshotDirectory,
                SealedOriginals = options.SealedOriginals,
                // The server's retention pass destroys expired originals, keeping those a legal hold names.
                PurgeSealedAtStart = false,
                SampleFps = options.SampleFps,
                LoopFileSources = options.LoopFileSources,
                // A scene-change incident's kept reference lives no longer than the events it belongs to.
                RuleStateRetention = options.EventRetention,
            }, catalog.District, journal, runtimes, SupervisorOptions, loggers, time, states.Report);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A missing model or unwritable evidence folder: the registry, API and console stay up; nothing is analysed.
            LogCannotAnalyse(logger, ex);
            return;
        }

        try
        {
            // Zones and lines edited in the console win over the definition's from the first frame.
            await LoadGeometryAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await SyncAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The running cameras go on with what they have; the registry is read again on the next look.
                    LogStoreDown(logger, ex.Message);
                }

                await signal.WaitAsync(options.RegistryPollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await _supervisor.DisposeAsync();
        }
    }

    /// <summary>How far back each look reads rows stamped before the last one (writers' clocks, long transactions).</summary>
    public static TimeSpan ChangeWindow { get; } = TimeSpan.FromMinutes(5);

    private async Task LoadGeometryAsync(CancellationToken ct)
    {
        for (var delay = TimeSpan.FromSeconds(1); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks)))
        {
            try
            {
                await geometry.LoadAsync(ct);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogStoreDown(logger, ex.Message);
                await Task.Delay(delay, time, ct);
            }
        }
    }

    /// <summary>Reads what changed in the registry since the last look and hands the running set to the supervisor.</summary>
    private async Task SyncAsync(CancellationToken ct)
    {
        List<Camera> changed;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var latest = await db.Cameras.MaxAsync(c => (long?)c.UpdatedAt, ct) ?? 0;
            List<string> ids;
            if (_watermark < 0)
            {
                ids = await db.Cameras.AsNoTracking().Where(c => c.Enabled && c.RetiredAt == null).Select(c => c.Id).ToListAsync(ct);
            }
            else
            {
                // A row is stamped by its writer's clock before its transaction commits, so a long import (or another
                // host's clock) can commit rows older than the last look: the window looks back that far, and each
                // row's version says whether it is really new.
                var since = _watermark - (long)ChangeWindow.TotalMilliseconds;
                var recent = await db.Cameras.AsNoTracking().Where(c => c.UpdatedAt >= since).Select(c => new { c.Id, c.Version }).ToListAsync(ct);
                ids = [.. recent.Where(r => !_known.TryGetValue(r.Id, out var k) || k.Version != r.Version).Select(r => r.Id)];
            }

            changed = [];
            foreach (var chunk in ids.Chunk(2000)) changed.AddRange(await db.Cameras.AsNoTracking().Where(c => chunk.Contains(c.Id)).ToListAsync(ct));
            _watermark = Math.Max(_watermark, latest);
        }

        var any = false;
        foreach (var row in changed)
        {
            if (_known.TryGetValue(row.Id, out var known) && known.Version == row.Version) continue;
            any = true;
            CameraSpec? spec = null;
            if (row.Enabled && row.RetiredAt is null && row.StreamUrlSealed is not null)
            {
                try
                {
                    // Purpose before power, also for a row written by an older version or by hand.
                    if (CameraAccountability.Missing(row.Purpose, row.LegalBasis, row.DepartmentId, row.RetentionDays) is { Count: > 0 } missing)
                    {
                        states.Report(row.Id, new CameraStatus(CameraState.Failed, time.GetUtcNow(), "purpose before power: no " + string.Join(", ", missing.Select(m => m.Field))));
                    }
                    else
                    {
                        spec = catalog.Spec(row);
                    }
                }
                catch (ConfigException ex)
                {
                    // Saved definitions are checked; one that no longer reads (the district file changed) fails alone.
                    states.Report(row.Id, new CameraStatus(CameraState.Failed, time.GetUtcNow(), "its definition no longer fits the district: " + (ex.Errors.Count > 0 ? ex.Errors[0].Message : ex.Message)));
                }
                catch (System.Security.Cryptography.CryptographicException)
                {
                    // Sealed with another key (an import run against another data folder): this camera cannot run, the others do.
                    states.Report(row.Id, new CameraStatus(CameraState.Failed, time.GetUtcNow(), "its stream address cannot be unsealed with this server's key: register the stream again"));
                }
            }

            _known[row.Id] = (row.Version, spec);
        }

        if (!any) return;
        await _supervisor!.ApplyAsync([.. _known.Values.Select(k => k.Spec).OfType<CameraSpec>()], ct);
    }

    /// <summary>Maps a pipeline event to its stored form (adds the camera's area), for the journal.</summary>
    public static Func<EvidencedEvent, EventRecord?> Mapper(CivicLensConfig district, Func<string, CameraConfig?> cameras)
    {
        ArgumentNullException.ThrowIfNull(district);
        ArgumentNullException.ThrowIfNull(cameras);
        return e =>
        {
            var r = e.Event;
            var camera = cameras(r.Camera);
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
                AreaId = camera is null ? district.District?.Id ?? "district" : DistrictSync.AreaOf(district, camera),
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Cameras cannot be analysed in this process (the registry and API stay up)")]
    private static partial void LogCannotAnalyse(ILogger logger, Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Registry not read; running cameras go on unchanged: {Error}")]
    private static partial void LogStoreDown(ILogger logger, string error);
}
