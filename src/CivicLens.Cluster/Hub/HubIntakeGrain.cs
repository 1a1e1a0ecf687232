using System.Buffers;
using CivicLens.Cluster.Placement;
using CivicLens.Domain.Cameras;
using CivicLens.Server.Cameras;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Ingest;
using CivicLens.Server.Live;
using CivicLens.Storage.Events;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// A node's way into the hub (one grain per node, on a hub). Events are stored by their ids (a batch sent twice, or
/// an overlap while a camera moved, stores each event once); redacted evidence is written before the events that
/// name it, so an event is never served without its picture. Answers only once both are committed.
/// </summary>
[HubPlacement]
internal sealed partial class HubIntakeGrain(EventStore store, LiveNotifier live, CaseVerifier verifier, ServerOptions options,
    StoreHealth health, ILogger<HubIntakeGrain> logger) : Grain, IHubIntakeGrain
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

        var events = batch.Events.Select(EventJournal.ParseLine).ToList();
        try
        {
            // Off the grain's own scheduler: a database that is slow or locked must not hold this activation's thread,
            // so the node's health calls (interleaved) still get through.
            await Task.Run(() => store.IngestAsync(events, CancellationToken.None));
            health.StoreReachable();
        }
        catch (Exception ex) when (StoreHealth.IsStoreFailure(ex))
        {
            health.StoreUnreachable(ex);
            throw new InvalidOperationException("The hub's database is unavailable; the node keeps its events journalled.", ex);
        }

        await live.EventsAsync(events);
        await Task.Run(() => verifier.OnEventsAsync(events, CancellationToken.None));
    }

    internal static bool IsPlainName(string name) =>
        name.Length is > 0 and <= 200 && !name.AsSpan().ContainsAnyExcept(NameChars) && !name.StartsWith('.') && name.EndsWith(".jpg", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} sent evidence with a name that is not a plain file name ({Length} characters); dropped")]
    private static partial void LogBadEvidenceName(ILogger logger, string node, int length);
}

/// <summary>A node's cameras' health into the registry (stored as changes by <see cref="CameraStateStore"/>).</summary>
[HubPlacement]
internal sealed class HubHealthGrain(CameraStateStore states) : Grain, IHubHealthGrain
{
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
