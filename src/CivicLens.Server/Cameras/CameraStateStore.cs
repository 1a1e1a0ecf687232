using System.Threading.Channels;
using CivicLens.Domain.Cameras;
using CivicLens.Server.Api;
using CivicLens.Server.Ingest;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Cameras;

/// <summary>
/// Stores camera health as changes: the camera's row holds its current state (for counting by area and state) and
/// each change appends one history row. Nothing is written while a camera stays as it is, so 290,000 healthy
/// cameras cost nothing. Changes queue in memory while the database is away and are written when it is back.
/// </summary>
public sealed partial class CameraStateStore(IDbContextFactory<CivicLensDb> dbs, LiveNotifier live, StoreHealth health, ILogger<CameraStateStore> logger)
    : BackgroundService
{
    private readonly Channel<(string Camera, CameraStatus Status)> _changes = Channel.CreateUnbounded<(string, CameraStatus)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Queues a change (any thread; never blocks a camera).</summary>
    public void Report(string camera, CameraStatus status) => _changes.Writer.TryWrite((camera, status));

    /// <summary>Writes changes now, in the caller's transaction-free context (the registry's own lifecycle changes).</summary>
    public static void Apply(CivicLensDb db, Camera camera, CameraStatus status)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(camera);
        var name = status.State.Name();
        if (camera.Health == name && camera.HealthReason == status.Reason) return;
        camera.Health = name;
        camera.HealthReason = status.Reason;
        camera.HealthSince = status.Since.ToUnixTimeMilliseconds();
        db.CameraHealthChanges.Add(new CameraHealthChange { CameraId = camera.Id, State = name, Reason = status.Reason, At = camera.HealthSince.Value });
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = new Dictionary<string, List<CameraStatus>>(StringComparer.Ordinal);
        var backoff = TimeSpan.FromMilliseconds(500);
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_changes.Reader.TryRead(out var c))
                {
                    if (c.Camera is null) continue; // a retry's wake-up
                    if (!pending.TryGetValue(c.Camera, out var list)) pending[c.Camera] = list = [];
                    list.Add(c.Status);
                }

                try
                {
                    await WriteAsync(pending, stoppingToken);
                    pending.Clear();
                    backoff = TimeSpan.FromMilliseconds(500);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A store away, a deadlock with another writer of the same counts: the changes wait and are written again.
                    if (StoreHealth.IsStoreFailure(ex)) health.StoreUnreachable(ex);
                    LogStoreDown(logger, pending.Count, ex.Message);
                    await Task.Delay(backoff, stoppingToken);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                    // Retry: the loop waits for the next change, so wake it.
                    _changes.Writer.TryWrite(default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Cameras written per transaction: a node's 72,500 cameras moving at once is many short writes, not one long one.</summary>
    internal const int WriteChunk = 2000;

    private async Task WriteAsync(Dictionary<string, List<CameraStatus>> pending, CancellationToken ct)
    {
        if (pending.Count == 0) return;
        // Chunk by chunk; a chunk written is dropped from pending, so a failure retries only what was not written.
        foreach (var ids in pending.Keys.Chunk(WriteChunk).ToList())
        {
            await WriteChunkAsync(ids, pending, ct);
            foreach (var id in ids) pending.Remove(id);
        }
    }

    private async Task WriteChunkAsync(string[] ids, Dictionary<string, List<CameraStatus>> pending, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.Cameras.Where(c => ids.Contains(c.Id)).ToListAsync(ct);
        var changed = new HashSet<Camera>(ReferenceEqualityComparer.Instance);
        foreach (var row in rows)
        {
            // A camera disabled or retired meanwhile keeps that state: a late word from its stopping run is history only.
            var frozen = row.Health is "disabled" or "retired" || !row.Enabled;
            foreach (var status in pending[row.Id])
            {
                if (frozen) continue;
                var before = row.Health;
                Apply(db, row, status);
                if (before != row.Health) changed.Add(row);
            }
        }

        await db.SaveChangesAsync(ct);
        foreach (var c in changed) await live.CameraAsync(c.AreaId, CameraView.From(c));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health changes of {Cameras} cameras not written; they wait in memory and are retried: {Error}")]
    private static partial void LogStoreDown(ILogger logger, int cameras, string error);
}
