namespace CivicLens.Cluster;

/// <summary>
/// One camera's analysis, placed on a worker node. The grain owns the camera's runtime there: the first
/// <see cref="RunAsync"/> starts it, later ones hand it edits, <see cref="StopAsync"/> ends it. It stays active
/// while its camera runs; when its node dies, the next <see cref="RunAsync"/> starts it on another node.
/// </summary>
[Alias("civiclens.camera")]
public interface ICameraGrain : IGrainWithStringKey
{
    [Alias("run")]
    Task<CameraPlacement> RunAsync(CameraAssignment assignment);

    /// <summary>Stops the camera (disabled, retired, moved for balance); its open conditions close with their events.</summary>
    [Alias("stop")]
    Task StopAsync(string reason);

    /// <summary>Stops the camera here and moves the grain to <paramref name="silo"/> (rebalancing); the next run starts it there.</summary>
    [Alias("move")]
    Task MoveAsync(string silo);

    [Alias("where")]
    Task<CameraPlacement?> WhereAsync();
}

/// <summary>A node's way into the hubs for its events (with their evidence), one grain per node. Placed on hubs only.</summary>
[Alias("civiclens.hub-intake")]
public interface IHubIntakeGrain : IGrainWithStringKey
{
    /// <summary>Stores the batch (idempotently: events by their ids) and answers once it is committed.</summary>
    [Alias("events")]
    Task IngestAsync(NodeEventBatch batch);
}

/// <summary>
/// A node's way into the hubs for its cameras' health, one grain per node, apart from the events' grain so that a
/// batch of events waiting on a busy database never holds back "moving" or "streaming". Placed on hubs only.
/// </summary>
[Alias("civiclens.hub-health")]
public interface IHubHealthGrain : IGrainWithStringKey
{
    [Alias("health")]
    Task ReportHealthAsync(IReadOnlyList<CameraHealthChange> changes);

    /// <summary>The hub's clock, for the node to measure its own clock's offset (answered at once, between other calls).</summary>
    [Alias("clock")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<DateTimeOffset> ClockAsync();
}

/// <summary>
/// The district's one placement authority (key <see cref="ClusterRoles.DistrictKey"/>), placed on a hub. The hub that
/// holds it places cameras and runs the cluster-wide jobs; every hub keeps it alive, so it moves when its hub dies.
/// </summary>
[Alias("civiclens.district")]
public interface IDistrictGrain : IGrainWithStringKey
{
    /// <summary>Keeps the grain active and answers the hub (silo address) that leads.</summary>
    [Alias("lead")]
    Task<string> LeaderAsync();

    /// <summary>A node is leaving (drained or shutting down): it takes no more cameras and its cameras are moved now.</summary>
    [Alias("leaving")]
    Task NodeLeavingAsync(string silo);

    /// <summary>
    /// A node that cannot keep up (it drops frames) stopped <paramref name="camera"/> and carries at most
    /// <paramref name="capacity"/> cameras from now on: the camera is placed elsewhere.
    /// </summary>
    [Alias("shed")]
    Task NodeShedAsync(string silo, string camera, int capacity, string reason);

    /// <summary>Every silo of the cluster with its role, capacity and the cameras the leader placed on it.</summary>
    [Alias("nodes")]
    Task<IReadOnlyList<NodeLoad>> NodesAsync();
}

/// <summary>
/// One hub's live feed (key <see cref="ClusterRoles.HubBound"/> of the hub's name, on that hub only): what another hub
/// sends to its console connections, this hub sends to its own, so a console on any hub sees the same feed.
/// </summary>
[Alias("civiclens.hub-live")]
public interface IHubLiveGrain : IGrainWithStringKey
{
    /// <summary>Fire and forget: a live message is a hint to refresh; what was missed is read from the API.</summary>
    [Orleans.Concurrency.OneWay]
    [Alias("relay")]
    Task RelayAsync(LiveRelay message);
}
