using System.Buffers;
using CivicLens.Cluster.Placement;
using CivicLens.Domain.Cameras;
using CivicLens.Server.Cameras;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Ingest;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// A node's way into the hub (one grain per node, on a hub). Events are stored by their ids (a batch sent twice, or
/// an overlap while a camera moved, stores each event once); redacted evidence is written before the events that
/// name it, so an event is never served without its picture. Other cameras' views of events (evidence lines) are
/// stored with them, each once, even before their event arrives from another node. Answers only once all are committed.
/// </summary>
[HubPlacement]
internal sealed partial class HubIntakeGrain(EventStore store, IDbContextFactory<CivicLensDb> dbs, LiveNotifier live, CaseVerifier verifier, ServerOptions options,
    StoreHealth health, IServiceProvider services, ILogger<HubIntakeGrain> logger) : Grain, IHubIntakeGrain
{
    private static readonly SearchValues<char> NameChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    public async Task IngestAsync(NodeEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var file in batch.Evidence)
        {
            // A node names its own files: only a plain name lands in the evidence folder, never a path.
            if (!IsPlainName(file.Name))
            {
                LogBadEvidenceName(logger, this.GetPrimaryKeyString(), file.Name.Length);
                continue;
            }

            var path = Path.Combine(options.SnapshotDirectory, file.Name);
            var tmp = path + ".part";
            await File.WriteAllBytesAsync(tmp, file.Content);
            File.Move(tmp, path, overwrite: true);
        }

        if (batch.Sealed.Count > 0) KeepSealed(batch);
        // Lines are events and other cameras' views of events (site evidence, whose files came in batch.Evidence).
        var entries = batch.Events.Select(EventJournal.Parse).ToList();
        var events = entries.Select(x => x.Event).OfType<CivicLens.Storage.Entities.EventRecord>().ToList();
        var views = entries.Select(x => x.View).OfType<JournalView>().ToList();
        // A node whose clock is off (no NTP, a skewed VM) stamps its events wrongly; its measured offset puts them
        // right. Their ids come from the stream, not the clock, so they stay the same either way.
        var offset = (long)batch.ClockOffset.TotalMilliseconds;
        if (offset != 0)
        {
            foreach (var e in events) e.At += offset;
        }

        try
        {
            // Off the grain's own scheduler: a database that is slow or locked must not hold this activation's thread,
            // so the node's health calls (interleaved) still get through.
            await Task.Run(async () =>
            {
                await store.IngestAsync(events, CancellationToken.None);
                await EventViewStore.AddAsync(dbs, views, offset, CancellationToken.None);
            });
            health.StoreReachable();
        }
        catch (Exception ex) when (StoreHealth.IsStoreFailure(ex))
        {
            if (health.StoreAvailable) LogStoreDown(logger, this.GetPrimaryKeyString(), ex.Message);
            health.StoreUnreachable(ex);
            // Only the message crosses the cluster: the database driver's exceptions have no Orleans codec (sending one
            // made every refused batch a serialization error in the hub's log).
            throw new InvalidOperationException("The hub's database is unavailable; the node keeps its events journalled: " + ex.Message);
        }

        await live.EventsAsync(events);
        await Task.Run(() => verifier.OnEventsAsync(events, CancellationToken.None));
    }

    /// <summary>
    /// Sealed originals go to the hubs' sealed store, where the reveal procedure finds them, only if sealed with this
    /// district's key (the store checks the file's header): a node with another key would leave originals nobody may open.
    /// </summary>
    private void KeepSealed(NodeEventBatch batch)
    {
        if (services.GetService<CivicLens.Privacy.Sealed.SealedOriginalStore>() is not { } sealedStore)
        {
            LogSealedRefused(logger, batch.Node, batch.Sealed.Count, "this hub keeps no sealed originals (no --sealing-key)");
            return;
        }

        foreach (var file in batch.Sealed)
        {
            // Named by the node as its store names them: the event id, then ".sealed"; nothing else is a path here.
            var named = file.Name.EndsWith(".sealed", StringComparison.Ordinal) && Guid.TryParseExact(file.Name[..^".sealed".Length], "N", out var eventId)
                && sealedStore.Keep(eventId, file.Content);
            if (!named) LogSealedRefused(logger, batch.Node, 1, "not a sealed original of this district's key");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} sent {Count} sealed originals this hub does not keep: {Why}")]
    private static partial void LogSealedRefused(ILogger logger, string node, int count, string why);

    internal static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 200 && !name.AsSpan().ContainsAnyExcept(NameChars) && !name.StartsWith('.') && name.EndsWith(".jpg", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Events from node {Node} not stored: the database is unavailable ({Error}); the node keeps them journalled and sends them again")]
    private static partial void LogStoreDown(ILogger logger, string node, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} sent evidence with a name that is not a plain file name ({Length} characters); dropped")]
    private static partial void LogBadEvidenceName(ILogger logger, string node, int length);
}

/// <summary>A node's cameras' health into the registry (stored as changes by <see cref="CameraStateStore"/>).</summary>
[HubPlacement]
internal sealed class HubHealthGrain(CameraStateStore states, TimeProvider time) : Grain, IHubHealthGrain
{
    public Task<DateTimeOffset> ClockAsync() => Task.FromResult(time.GetUtcNow());

    public Task ReportHealthAsync(IReadOnlyList<CameraHealthChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var c in changes)
        {
            if (!Enum.IsDefined((CameraState)c.State)) continue;
            // Reasons come from the node's own words; a stream address never reaches the registry.
            states.Report(c.Camera, new CameraStatus((CameraState)c.State, c.At, Pipeline.Supervision.CameraWorker.Safe(c.Reason)));
        }

        return Task.CompletedTask;
    }
}
