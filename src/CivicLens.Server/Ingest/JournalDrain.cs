using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Events;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Server.Ingest;

/// <summary>
/// Moves journalled events into the store in batches. When the database is gone it waits and retries with
/// backoff (the journal keeps growing on disk); when it is back the backlog is caught up in order. Other cameras'
/// views of events are stored after the events of the same batch (<see cref="EventViewStore"/>).
/// </summary>
public sealed partial class JournalDrain(EventJournal journal, EventStore store, IDbContextFactory<CivicLensDb> dbs, LiveNotifier live, StoreHealth health,
    CameraHealthUpdater cameras, Cases.CaseVerifier verifier, ILogger<JournalDrain> logger)
    : BackgroundService
{
    public const int BatchSize = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        while (!stoppingToken.IsCancellationRequested)
        {
            var (events, views, end) = journal.ReadPendingBatch(BatchSize);
            if (events.Count == 0 && views.Count == 0)
            {
                try
                {
                    await journal.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            try
            {
                await store.IngestAsync(events, stoppingToken);
                await EventViewStore.AddAsync(dbs, views, 0, stoppingToken);
                journal.Commit(end);
                health.StoreReachable();
                backoff = TimeSpan.FromMilliseconds(500);
                await live.EventsAsync(events);
                await cameras.ApplyAsync(events, stoppingToken);
                await verifier.OnEventsAsync(events, stoppingToken);
            }
            catch (Exception ex) when (StoreHealth.IsStoreFailure(ex))
            {
                health.StoreUnreachable(ex);
                LogStoreDown(logger, events.Count, backoff.TotalSeconds, ex.Message);
                try
                {
                    await Task.Delay(backoff, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store unavailable; {Count} events stay journalled, retrying in {Seconds} s: {Error}")]
    private static partial void LogStoreDown(ILogger logger, int count, double seconds, string error);
}
