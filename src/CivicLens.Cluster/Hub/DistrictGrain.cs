using CivicLens.Cluster.Placement;
using Orleans.Runtime;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// The district's one leader, on a hub. Where it is active, that hub's <see cref="CameraPlacer"/> places cameras and the
/// cluster-wide jobs run; when its hub dies, the other hubs' keep-alive activates it on one of them. A reminder in
/// PostgreSQL wakes it too, so a district whose hubs all restarted has a leader without anyone calling.
/// </summary>
[HubPlacement]
[KeepAlive]
internal sealed class DistrictGrain(HubLeadership leadership, ILocalSiloDetails silo, IClusterMembershipService membership, NodeLoadBook book)
    : Grain, IDistrictGrain, IRemindable
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        leadership.Lead();
        try
        {
            await this.RegisterOrUpdateReminder("keep", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The database is away: the hubs' keep-alive still holds the leader.
            leadership.Note("reminder not registered: " + ex.Message);
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        leadership.StandDown();
        return Task.CompletedTask;
    }

    public Task<string> LeaderAsync() => Task.FromResult(silo.SiloAddress.ToParsableString());

    public Task NodeLeavingAsync(string node)
    {
        leadership.NodeLeaving(SiloAddress.FromParsableString(node));
        return Task.CompletedTask;
    }

    public Task NodeShedAsync(string silo, string camera, int capacity, string reason)
    {
        leadership.NodeShed(new ShedCamera(SiloAddress.FromParsableString(silo), camera, capacity, reason));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NodeLoad>> NodesAsync()
    {
        var nodes = new List<NodeLoad>();
        foreach (var (address, member) in membership.CurrentSnapshot.Members)
        {
            if (member.Status is SiloStatus.Dead or SiloStatus.None) continue;
            var (role, name, capacity) = book.Describe(address);
            nodes.Add(new NodeLoad(name, address.ToParsableString(), role ?? "unknown", member.Status.ToString().ToLowerInvariant(), capacity, book.Count(address)));
        }

        return Task.FromResult<IReadOnlyList<NodeLoad>>([.. nodes.OrderBy(n => n.Role, StringComparer.Ordinal).ThenBy(n => n.Name, StringComparer.Ordinal)]);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
