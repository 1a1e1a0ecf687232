using System.Globalization;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace CivicLens.Cluster.Placement;

/// <summary>
/// Which node runs which camera, as the leading hub placed them (placement happens on the hub that calls the camera
/// grain: only the leader's placer does). Nodes state their name and capacity in their silo metadata; a node being
/// drained or declared dead takes no more cameras.
/// </summary>
public sealed class NodeLoadBook(Func<SiloAddress, IReadOnlyDictionary<string, string>> metadata)
{
    public NodeLoadBook(ISiloMetadataCache cache)
        : this(silo => cache.GetSiloMetadata(silo).Metadata)
    {
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, SiloAddress> _cameras = new(StringComparer.Ordinal);
    private readonly Dictionary<SiloAddress, HashSet<string>> _bySilo = [];
    private readonly HashSet<SiloAddress> _closed = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<SiloAddress, (string? Role, string Name, int Capacity)> _known = new();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<SiloAddress, int> _limits = new();

    /// <summary>
    /// A node that could not keep up with what it stated (it dropped frames and gave a camera back) carries at most
    /// <paramref name="capacity"/> from now on, until it restarts (a new silo states its capacity afresh).
    /// </summary>
    public void Limit(SiloAddress silo, int capacity) => _limits[silo] = Math.Max(0, capacity);

    /// <summary>A silo's role, name and capacity from its metadata (null role when it states none: not ours), less any <see cref="Limit"/>.</summary>
    public (string? Role, string Name, int Capacity) Describe(SiloAddress silo)
    {
        var stated = Stated(silo);
        return _limits.TryGetValue(silo, out var limit) && limit < stated.Capacity ? stated with { Capacity = limit } : stated;
    }

    private (string? Role, string Name, int Capacity) Stated(SiloAddress silo)
    {
        // A dead silo's metadata leaves the cache; what it said while alive names it in "node n-3 died".
        if (_known.TryGetValue(silo, out var known)) return known;
        var m = metadata(silo);
        var role = m.TryGetValue(ClusterRoles.RoleKey, out var r) ? r : null;
        var name = m.TryGetValue(ClusterRoles.NameKey, out var n) ? n : silo.ToString();
        var capacity = m.TryGetValue(ClusterRoles.CapacityKey, out var c) && int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        if (role is not null) _known[silo] = (role, name, capacity);
        return (role, name, capacity);
    }

    /// <summary>
    /// Picks the node with the most room relative to its capacity among <paramref name="candidates"/> and books the
    /// camera on it; throws <see cref="NoNodeRoomException"/> when every node is full (never more than its capacity).
    /// </summary>
    public SiloAddress Place(string camera, IEnumerable<SiloAddress> candidates)
    {
        lock (_gate)
        {
            SiloAddress? best = null;
            var bestShare = double.MaxValue;
            var nodes = 0;
            foreach (var silo in candidates)
            {
                var (role, _, capacity) = Describe(silo);
                if (role != ClusterRoles.Node || _closed.Contains(silo)) continue;
                nodes++;
                var load = _bySilo.TryGetValue(silo, out var set) ? set.Count - (set.Contains(camera) ? 1 : 0) : 0;
                if (load >= capacity) continue;
                var share = (double)load / capacity;
                if (share < bestShare || (share == bestShare && best is not null && silo.CompareTo(best) < 0))
                {
                    best = silo;
                    bestShare = share;
                }
            }

            if (best is null) throw new NoNodeRoomException(nodes == 0 ? "no worker node has joined the cluster" : $"all {nodes} worker nodes are full");
            AssignLocked(camera, best);
            return best;
        }
    }

    /// <summary>Records where a camera runs (its grain's answer), in case it was placed by another hub.</summary>
    public void Assign(string camera, SiloAddress silo)
    {
        lock (_gate) AssignLocked(camera, silo);
    }

    public void Forget(string camera)
    {
        lock (_gate)
        {
            if (_cameras.Remove(camera, out var silo) && _bySilo.TryGetValue(silo, out var set)) set.Remove(camera);
        }
    }

    /// <summary>A node being drained, shutting down or dead: it takes nothing more; its cameras are returned to be moved.</summary>
    public IReadOnlyList<string> Close(SiloAddress silo)
    {
        lock (_gate)
        {
            _closed.Add(silo);
            if (!_bySilo.Remove(silo, out var set)) return [];
            foreach (var camera in set) _cameras.Remove(camera);
            return [.. set];
        }
    }

    public SiloAddress? Where(string camera)
    {
        lock (_gate) return _cameras.TryGetValue(camera, out var s) ? s : null;
    }

    public IReadOnlyList<string> CamerasOn(SiloAddress silo)
    {
        lock (_gate) return _bySilo.TryGetValue(silo, out var set) ? [.. set] : [];
    }

    public int Count(SiloAddress silo)
    {
        lock (_gate) return _bySilo.TryGetValue(silo, out var set) ? set.Count : 0;
    }

    public bool IsClosed(SiloAddress silo)
    {
        lock (_gate) return _closed.Contains(silo);
    }

    private void AssignLocked(string camera, SiloAddress silo)
    {
        if (_cameras.TryGetValue(camera, out var old))
        {
            if (old.Equals(silo)) return;
            if (_bySilo.TryGetValue(old, out var oldSet)) oldSet.Remove(camera);
        }

        _cameras[camera] = silo;
        if (!_bySilo.TryGetValue(silo, out var set)) _bySilo[silo] = set = new HashSet<string>(StringComparer.Ordinal);
        set.Add(camera);
    }
}

/// <summary>No worker node can take another camera (none joined, or all are at their capacity).</summary>
public sealed class NoNodeRoomException(string message) : Exception(message);
