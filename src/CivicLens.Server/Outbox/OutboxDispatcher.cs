using CivicLens.Server.Ingest;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Delivers the outbox: every round reads the due, undelivered messages of the configured channels (oldest
/// first, one batch), delivers them, channel by channel side by side, and marks each delivered or failed (attempt
/// count, a short error, the next attempt after a doubling backoff). Delivered messages are kept for
/// <see cref="OutboxOptions.Retention"/> and then purged.
/// </summary>
/// <remarks>
/// Delivery is at least once: a crash (or a lost answer) between a delivery and its mark delivers the message
/// again, and two servers on one PostgreSQL may both deliver a message. Receivers deduplicate by event id: the
/// payload's <c>id</c>, also sent as the <c>X-CivicLens-Event-Id</c> header or MQTT user property. Order is
/// oldest first per channel, but a retried message may arrive after newer ones.
/// A channel that is down (unreachable, timing out, 5xx) costs one attempt per round, not one per message: the
/// rest of its messages in the round fail with the same error, and the channel is left out of the next rounds
/// until its own backoff has passed.
/// </remarks>
public sealed partial class OutboxDispatcher(
    IDbContextFactory<CivicLensDb> dbs,
    IEnumerable<IOutboxChannel> channels,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    OutboxStatus status,
    ILogger<OutboxDispatcher> logger,
    Hosting.IJobDuty duty) : BackgroundService
{
    private readonly Dictionary<string, IOutboxChannel> _channels = channels.ToDictionary(c => c.Name, StringComparer.Ordinal);
    private readonly Dictionary<string, ChannelHold> _holds = new(StringComparer.Ordinal);
    private readonly OutboxOptions _options = options.Value;

    private sealed record ChannelHold(int Failures, DateTimeOffset Until);

    private sealed record Outcome(OutboxMessage Message, DeliveryResult Result);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_channels.Count > 0)
        {
            var names = string.Join(", ", _channels.Keys);
            LogChannels(logger, names);
        }

        var nextPurge = DateTimeOffset.MinValue;
        var nextCount = DateTimeOffset.MinValue;
        var storeBackoff = TimeSpan.FromMilliseconds(500);
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            if (!duty.RunsJobs)
            {
                // In a cluster only the leading hub delivers, so a message is never sent by two hubs at once.
                try
                {
                    await Task.Delay(_options.PollInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            try
            {
                var now = time.GetUtcNow();
                if (now >= nextPurge)
                {
                    await PurgeAsync(now, stoppingToken);
                    nextPurge = now + _options.PurgeInterval;
                }

                var due = await RoundAsync(stoppingToken);
                if (now >= nextCount)
                {
                    await CountBacklogAsync(stoppingToken);
                    nextCount = now + (_options.PollInterval * 10);
                }

                // A full batch means more may be due: go on at once.
                wait = due >= _options.BatchSize ? TimeSpan.Zero : _options.PollInterval;
                storeBackoff = TimeSpan.FromMilliseconds(500);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (StoreHealth.IsStoreFailure(ex))
            {
                // The messages stay in the store; nothing is lost while it is away.
                LogStoreDown(logger, storeBackoff.TotalSeconds, ex.GetType().Name);
                wait = storeBackoff;
                storeBackoff = TimeSpan.FromTicks(Math.Min(storeBackoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }

            if (wait <= TimeSpan.Zero) continue;
            try
            {
                await Task.Delay(wait, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <returns>How many messages were due (at most one batch).</returns>
    internal async Task<int> RoundAsync(CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        var open = _channels.Keys.Where(c => !_holds.TryGetValue(c, out var hold) || hold.Until <= now).ToList();
        if (open.Count == 0)
        {
            status.Round(0, 0, 0);
            return 0;
        }

        await using var db = await dbs.CreateDbContextAsync(stoppingToken);
        var nowMs = now.ToUnixTimeMilliseconds();
        var rows = await db.Outbox
            .Where(o => o.DeliveredAt == null && o.NextAttemptAt <= nowMs && open.Contains(o.Channel))
            .OrderBy(o => o.Id)
            .Take(_options.BatchSize)
            .ToListAsync(stoppingToken);
        if (rows.Count == 0)
        {
            status.Round(0, 0, 0);
            return 0;
        }

        var perChannel = await Task.WhenAll(rows.GroupBy(r => r.Channel, StringComparer.Ordinal)
            .Select(g => DeliverAsync(_channels[g.Key], [.. g], stoppingToken)));

        var doneAt = time.GetUtcNow();
        int delivered = 0, failed = 0;
        foreach (var outcomes in perChannel)
        {
            foreach (var (message, result) in outcomes)
            {
                if (result.Delivered)
                {
                    message.DeliveredAt = doneAt.ToUnixTimeMilliseconds();
                    delivered++;
                    continue;
                }

                message.Attempts++;
                message.LastError = result.Error;
                message.NextAttemptAt = (doneAt + _options.Backoff(message.Attempts)).ToUnixTimeMilliseconds();
                failed++;
                if (!result.ChannelDown) LogMessageFailed(logger, message.Channel, message.EventId, message.Attempts, result.Error ?? "");
            }

            if (outcomes.Count > 0) Hold(outcomes[0].Message.Channel, outcomes, doneAt);
        }

        // Marked even while stopping: what was delivered must not be delivered again for want of a mark.
        await db.SaveChangesAsync(CancellationToken.None);
        status.Round(rows.Count, delivered, failed);
        return rows.Count;
    }

    /// <summary>Counts the undelivered messages per channel for the backlog gauge (one grouped count on the undelivered index).</summary>
    private async Task CountBacklogAsync(CancellationToken stoppingToken)
    {
        await using var db = await dbs.CreateDbContextAsync(stoppingToken);
        var counts = await db.Outbox.Where(o => o.DeliveredAt == null).GroupBy(o => o.Channel)
            .Select(g => new { Channel = g.Key, Count = g.LongCount() }).ToListAsync(stoppingToken);
        var backlog = _channels.Keys.ToDictionary(c => c, _ => 0L, StringComparer.Ordinal);
        foreach (var c in counts) backlog[c.Channel] = c.Count;
        status.Counted(backlog);
    }

    private static async Task<List<Outcome>> DeliverAsync(IOutboxChannel channel, List<OutboxMessage> messages, CancellationToken stoppingToken)
    {
        var outcomes = new List<Outcome>(messages.Count);
        for (var i = 0; i < messages.Count && !stoppingToken.IsCancellationRequested; i++)
        {
            DeliveryResult result;
            try
            {
                result = await channel.DeliverAsync(messages[i], stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            outcomes.Add(new Outcome(messages[i], result));
            if (!result.ChannelDown) continue;
            // The channel is down: its other messages of this round share the failure instead of each waiting out a timeout.
            for (var j = i + 1; j < messages.Count; j++) outcomes.Add(new Outcome(messages[j], result));
            break;
        }

        return outcomes;
    }

    private void Hold(string channel, List<Outcome> outcomes, DateTimeOffset now)
    {
        var down = outcomes.FirstOrDefault(o => o.Result.ChannelDown)?.Result;
        _holds.TryGetValue(channel, out var hold);
        if (down is null)
        {
            if (hold is not null)
            {
                _holds.Remove(channel);
                LogChannelBack(logger, channel, hold.Failures);
            }

            return;
        }

        var failures = (hold?.Failures ?? 0) + 1;
        var backoff = _options.Backoff(failures);
        _holds[channel] = new ChannelHold(failures, now + backoff);
        LogChannelDown(logger, channel, down.Error ?? "", outcomes.Count(o => o.Result.ChannelDown), backoff.TotalSeconds);
    }

    private async Task PurgeAsync(DateTimeOffset now, CancellationToken stoppingToken)
    {
        var cutoff = (now - _options.Retention).ToUnixTimeMilliseconds();
        await using var db = await dbs.CreateDbContextAsync(stoppingToken);
        var purged = await db.Outbox.Where(o => o.DeliveredAt != null && o.DeliveredAt < cutoff).ExecuteDeleteAsync(stoppingToken);
        if (purged == 0) return;
        status.Purge(purged);
        LogPurged(logger, purged, _options.Retention.TotalDays);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox delivers to {Channels}")]
    private static partial void LogChannels(ILogger logger, string channels);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox channel {Channel} is down ({Error}); {Count} messages wait, next try in {Seconds} s")]
    private static partial void LogChannelDown(ILogger logger, string channel, string error, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox channel {Channel} delivers again after {Failures} failed rounds")]
    private static partial void LogChannelBack(ILogger logger, string channel, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message for event {EventId} on {Channel} failed (attempt {Attempts}): {Error}")]
    private static partial void LogMessageFailed(ILogger logger, string channel, Guid eventId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox cannot reach the store; retrying in {Seconds} s: {Error}")]
    private static partial void LogStoreDown(ILogger logger, double seconds, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox purged {Count} messages delivered more than {Days} days ago")]
    private static partial void LogPurged(ILogger logger, int count, double days);
}
