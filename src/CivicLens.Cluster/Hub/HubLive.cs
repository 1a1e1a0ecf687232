using CivicLens.Cluster.Placement;
using CivicLens.Server.Live;
using Orleans.Runtime;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// This hub's live feed as the other hubs see it: what they relay, it sends to its own console connections. It lives
/// on its hub only (<see cref="ClusterRoles.HubBound"/>), so a relay to a hub that died is dropped, never rerouted.
/// </summary>
[HubPlacement]
internal sealed class HubLiveGrain(LiveNotifier live) : Grain, IHubLiveGrain
{
    public Task RelayAsync(LiveRelay message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return live.DeliverAsync(new LiveMessage(message.Method, message.Groups, message.Json));
    }
}

/// <summary>
/// The cluster's other live hubs, read from Orleans' membership: each live message this hub sends is relayed to each
/// of them (one-way), so a console behind any hub of a load balancer sees every event, health change and case.
/// </summary>
public sealed partial class HubLivePeers(IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails local, NodeLoadBook book, ILogger<HubLivePeers> logger)
    : ILivePeers
{
    private (MembershipVersion Version, string[] Hubs) _peers = (MembershipVersion.MinValue, []);

    public bool Any => Peers().Length > 0;

    public void Forward(LiveMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var relay = new LiveRelay(message.Method, message.Groups, message.Json);
        foreach (var hub in Peers())
        {
            try
            {
                // One-way: returns at once; a hub that just died loses a hint its console re-reads on reconnect.
                _ = grains.GetGrain<IHubLiveGrain>(ClusterRoles.HubBound(hub)).RelayAsync(relay);
            }
            catch (Exception ex) when (ex is OrleansException or InvalidOperationException)
            {
                LogRelayFailed(logger, hub, ex.Message);
            }
        }
    }

    private string[] Peers()
    {
        var snapshot = membership.CurrentSnapshot;
        var cached = _peers;
        if (cached.Version == snapshot.Version) return cached.Hubs;
        var hubs = snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress) && book.Describe(m.SiloAddress).Role == ClusterRoles.Hub)
            .Select(m => book.Describe(m.SiloAddress).Name)
            .Order(StringComparer.Ordinal)
            .ToArray();
        _peers = (snapshot.Version, hubs);
        return hubs;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Live message not relayed to hub {Hub}: {Error}")]
    private static partial void LogRelayFailed(ILogger logger, string hub, string error);
}
