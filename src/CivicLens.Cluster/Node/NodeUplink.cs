using CivicLens.Server.Ingest;
using Microsoft.Extensions.Hosting;

namespace CivicLens.Cluster.Node;

/// <summary>
/// Sends this node's journalled events, with the redacted evidence they name, and its cameras' health to the hubs
/// through the cluster. A batch leaves the journal (and its evidence this node's disk) only after a hub answered that
/// it is stored; while no hub or database answers, the journal grows on disk and is sent in order when one does.
/// </summary>
public sealed partial class NodeUplink(NodeCameras cameras, IGrainFactory grains, NodeClock clock, TimeProvider time, ILogger<NodeUplink> logger) : BackgroundService
{
    /// <summary>How often the node measures its clock against a hub's.</summary>
    public static TimeSpan ClockInterval { get; } = TimeSpan.FromSeconds(30);

    /// <summary>A skew worth an operator's look (the events are corrected either way).</summary>
    private static readonly TimeSpan SkewWarning = TimeSpan.FromSeconds(2);

    public const int BatchSize = 500;

    private Task _health = Task.CompletedTask;

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Sends everything pending now (a drain before shutdown); false when a hub did not take it before <paramref name="ct"/>.</summary>
    public Task<bool> FlushAsync(CancellationToken ct) => SendAsync(untilEmpty: true, TimeSpan.FromMilliseconds(200), ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Health has its own loop: a batch of events waiting on a busy database must not hold back "moving" or "streaming".
        _health = HealthLoopAsync(stoppingToken);
        await SendAsync(untilEmpty: false, TimeSpan.FromMilliseconds(500), stoppingToken);
    }

    /// <summary>
    /// Sends the journal batch by batch, backing off while no hub takes it. A flush (<paramref name="untilEmpty"/>)
    /// also sends the health first and returns true once nothing is pending; otherwise it waits for more events.
    /// Returns false when <paramref name="ct"/> ends it.
    /// </summary>
    private async Task<bool> SendAsync(bool untilEmpty, TimeSpan firstBackoff, CancellationToken ct)
    {
        var backoff = firstBackoff;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (untilEmpty) await SendHealthAsync();
                var sent = await SendEventsAsync();
                backoff = firstBackoff;
                if (sent) continue;
                if (untilEmpty) return true;
                await cameras.Journal.WaitAsync(TimeSpan.FromMilliseconds(500), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogHubAway(logger, cameras.Journal.Backlog, ex.Message);
                try
                {
                    await Task.Delay(backoff, ct);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }

        return false;
    }

    private async Task HealthLoopAsync(CancellationToken stoppingToken)
    {
        var measured = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (time.GetUtcNow() - measured >= ClockInterval)
                {
                    // Originals a hub never took are destroyed on time here too (their window counts from sealing).
                    if (cameras.PurgeSealed() is > 0 and var destroyed) LogSealedDestroyed(logger, destroyed);
                    await MeasureClockAsync();
                    measured = time.GetUtcNow();
                }

                await SendHealthAsync();
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                // Kept (latest per camera) and sent on the next turn.
                LogHealthNotSent(logger, ex.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private IHubIntakeGrain Hub => grains.GetGrain<IHubIntakeGrain>(cameras.Name);

    /// <summary>One batch; false when there was nothing to send.</summary>
    private async Task<bool> SendEventsAsync()
    {
        var (lines, end) = cameras.Journal.ReadPendingLines(BatchSize);
        if (lines.Count == 0)
        {
            if (end > 0) cameras.Journal.Commit(end);
            return false;
        }

        // The first batch waits for the node's clock to be measured against a hub's (a failure here retries, backing off).
        if (!clock.Measured) await MeasureClockAsync();
        var evidence = new List<EvidenceFile>();
        var sealedFiles = new List<EvidenceFile>();
        var files = new List<string>();
        var (evidenceDir, sealedDir) = (cameras.EvidenceDirectory, cameras.SealedDirectory);
        if (evidenceDir is not null || sealedDir is not null)
        {
            foreach (var e in lines.Select(EventJournal.Parse))
            {
                // A snapshot the writer dropped (disk full) is not there: the event goes without it, as locally.
                // Lines are events or other cameras' views of events (site evidence): both name a file.
                if (evidenceDir is not null && e.Snapshot is { } snapshot) await TakeAsync(evidenceDir, snapshot, evidence);
                if (sealedDir is not null && e.Event is { } ev) await TakeAsync(sealedDir, ev.Id.ToString("N") + ".sealed", sealedFiles);
            }
        }

        async Task TakeAsync(string dir, string name, List<EvidenceFile> into)
        {
            var path = Path.Combine(dir, name);
            // One site view names one file for several events: it goes once.
            if (!File.Exists(path) || files.Contains(path)) return;
            into.Add(new EvidenceFile(name, await File.ReadAllBytesAsync(path)));
            files.Add(path);
        }

        await Hub.IngestAsync(new NodeEventBatch { Node = cameras.Name, Events = lines, Evidence = evidence, Sealed = sealedFiles, ClockOffset = clock.Offset });
        cameras.Journal.Commit(end);
        // The hub holds the evidence (and the sealed originals) now; this node keeps none.
        foreach (var f in files) File.Delete(f);
        return true;
    }

    private async Task MeasureClockAsync()
    {
        var before = clock.Offset;
        var sent = time.GetUtcNow();
        var hub = await grains.GetGrain<IHubHealthGrain>(cameras.Name).ClockAsync();
        var offset = clock.Add(sent, hub, time.GetUtcNow());
        if (offset.Duration() >= SkewWarning && (offset - before).Duration() >= SkewWarning) LogSkew(logger, offset.TotalSeconds);
    }

    private async Task SendHealthAsync()
    {
        var changes = cameras.TakeHealth();
        if (changes.Count == 0) return;
        try
        {
            await grains.GetGrain<IHubHealthGrain>(cameras.Name).ReportHealthAsync(changes);
        }
        catch
        {
            cameras.ReturnHealth(changes);
            throw;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _health.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} sealed originals no hub took within their window were destroyed on this node")]
    private static partial void LogSealedDestroyed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "This node's clock is {Seconds:0.0} s behind the hubs' (negative: ahead); its events' times are corrected by the hub, but set up NTP on this machine")]
    private static partial void LogSkew(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Camera health not sent to a hub; the latest state of each camera is kept: {Error}")]
    private static partial void LogHealthNotSent(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No hub took this node's events ({Backlog} bytes journalled); retrying: {Error}")]
    private static partial void LogHubAway(ILogger logger, long backlog, string error);
}

/// <summary>
/// A graceful stop (SIGTERM, <c>systemctl stop</c>): before this node leaves the cluster, its cameras stop, their
/// last events are journalled and sent, and the hubs move the cameras elsewhere. Registered after the silo, so it
/// stops before the silo does.
/// </summary>
public sealed partial class NodeDrain(NodeCameras cameras, NodeUplink uplink, IGrainFactory grains, Orleans.Runtime.ILocalSiloDetails silo, ILogger<NodeDrain> logger)
    : IHostedService
{
    /// <summary>How long a stop waits for a hub to take the last events (they stay journalled if none does).</summary>
    public static TimeSpan FlushTimeout { get; } = TimeSpan.FromSeconds(20);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The leading hub stops placing cameras here and moves these at once, instead of after the silo is gone.
            await grains.GetGrain<IDistrictGrain>(ClusterRoles.DistrictKey).NodeLeavingAsync(silo.SiloAddress.ToParsableString()).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogHubNotTold(logger, ex.Message);
        }

        await cameras.DrainAsync($"node {cameras.Name} is shutting down; moving to another node");
        using var timeout = new CancellationTokenSource(FlushTimeout);
        var flushed = await uplink.FlushAsync(timeout.Token);
        if (flushed) LogDrained(logger, cameras.Name);
        else LogNotFlushed(logger, cameras.Journal.Backlog);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The hubs were not told this node is leaving; they move its cameras when the cluster sees it gone: {Error}")]
    private static partial void LogHubNotTold(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {Name} drained: its cameras stopped and every event reached a hub")]
    private static partial void LogDrained(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No hub took the last events before the stop; {Backlog} bytes stay journalled and are sent at the next start")]
    private static partial void LogNotFlushed(ILogger logger, long backlog);
}
