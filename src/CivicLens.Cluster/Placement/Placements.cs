using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace CivicLens.Cluster.Placement;

/// <summary>Camera grains go to worker nodes only, by room left relative to capacity (<see cref="NodeLoadBook"/>).</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("civiclens.node-placement")]
public sealed class NodePlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class NodePlacementAttribute() : PlacementAttribute(new NodePlacement());

/// <summary>The hub-side grains (intake, the district, each hub's live feed) go to hubs only, spread by their key.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("civiclens.hub-placement")]
public sealed class HubPlacement : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class HubPlacementAttribute() : PlacementAttribute(new HubPlacement());

/// <summary>
/// The leader's placer chooses the node from its book and sends the choice as the call's placement hint, so the
/// choice holds wherever Orleans places the activation (a call forwarded from a deactivating activation is placed on
/// the silo it was forwarded from, whose book knows nothing). Without a hint, this silo's book decides.
/// </summary>
internal sealed class NodePlacementDirector(NodeLoadBook book) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint && book.Describe(hint).Role == ClusterRoles.Node) return Task.FromResult(hint);
        return Task.FromResult(book.Place(target.GrainIdentity.Key.ToString()!, compatible));
    }
}

internal sealed class HubPlacementDirector(NodeLoadBook book) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var hubs = context.GetCompatibleSilos(target).Where(s => book.Describe(s).Role == ClusterRoles.Hub).Order().ToArray();
        if (hubs.Length == 0) throw new SiloUnavailableException("No hub has joined the cluster.");
        var key = target.GrainIdentity.Key.ToString()!;
        if (key.StartsWith(ClusterRoles.HubBoundPrefix, StringComparison.Ordinal))
        {
            // A hub's own grain (its live feed): on that hub or nowhere.
            var name = key[ClusterRoles.HubBoundPrefix.Length..];
            return Task.FromResult(hubs.FirstOrDefault(h => book.Describe(h).Name == name) ?? throw new SiloUnavailableException($"Hub {name} is not in the cluster."));
        }

        // The district's leader starts on the hub that first asks for it; nodes' intake and health grains spread over the hubs by key.
        if (hubs.Contains(context.LocalSilo) && key == ClusterRoles.DistrictKey) return Task.FromResult(context.LocalSilo);
        return Task.FromResult(hubs[(int)(target.GrainIdentity.GetUniformHashCode() % (uint)hubs.Length)]);
    }
}
