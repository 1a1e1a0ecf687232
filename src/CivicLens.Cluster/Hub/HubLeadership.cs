using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// Whether this hub leads the district now (it holds the <see cref="IDistrictGrain"/> activation), and what the
/// leader was told about nodes leaving. Orleans keeps one activation of the district grain in the cluster, so one
/// hub leads; when it dies, the grain is activated on another hub and leadership moves with it.
/// </summary>
public sealed partial class HubLeadership(ILogger<HubLeadership> logger) : Server.Hosting.IJobDuty
{
    private readonly ConcurrentQueue<SiloAddress> _leaving = new();
    private volatile bool _leader;

    public bool IsLeader => _leader;

    /// <summary>The SLA watch, retention and outbox delivery run on the leading hub only.</summary>
    public bool RunsJobs => _leader;

    internal void Lead()
    {
        _leader = true;
        LogLead(logger);
    }

    internal void StandDown()
    {
        if (!_leader) return;
        _leader = false;
        LogStandDown(logger);
    }

    internal void Note(string what) => LogNote(logger, what);

    internal void NodeLeaving(SiloAddress silo) => _leaving.Enqueue(silo);

    internal bool TryTakeLeaving(out SiloAddress silo) => _leaving.TryDequeue(out silo!);

    private readonly ConcurrentQueue<ShedCamera> _shed = new();

    internal void NodeShed(ShedCamera shed) => _shed.Enqueue(shed);

    internal bool TryTakeShed(out ShedCamera shed) => _shed.TryDequeue(out shed!);

    [LoggerMessage(Level = LogLevel.Information, Message = "This hub leads the district: it places cameras and runs the cluster-wide jobs")]
    private static partial void LogLead(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "This hub no longer leads the district")]
    private static partial void LogStandDown(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "District leader: {What}")]
    private static partial void LogNote(ILogger logger, string what);
}

/// <summary>A camera an overloaded node gave back, and the capacity it keeps.</summary>
internal sealed record ShedCamera(SiloAddress Node, string Camera, int Capacity, string Reason);

/// <summary>Every hub keeps the district's leader alive (and so activates it on a live hub when its hub died).</summary>
public sealed partial class HubKeeper(IGrainFactory grains, ILocalSiloDetails silo, HubLeadership leadership, ILogger<HubKeeper> logger) : BackgroundService
{
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var local = silo.SiloAddress.ToParsableString();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var leader = await grains.GetGrain<IDistrictGrain>(ClusterRoles.DistrictKey).LeaderAsync().WaitAsync(TimeSpan.FromSeconds(10), stoppingToken);
                // An activation this hub lost without deactivating (a partition healed) must not keep leading here.
                if (leader != local && leadership.IsLeader) leadership.StandDown();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogNoLeader(logger, ex.Message);
            }

            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The district's leader did not answer: {Error}")]
    private static partial void LogNoLeader(ILogger logger, string error);
}
