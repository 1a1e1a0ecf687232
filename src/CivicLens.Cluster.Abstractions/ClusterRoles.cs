namespace CivicLens.Cluster;

/// <summary>The silo metadata a hub or node states when it joins; placement reads it.</summary>
public static class ClusterRoles
{
    /// <summary>Metadata key: which role this silo plays (<see cref="Hub"/> or <see cref="Node"/>).</summary>
    public const string RoleKey = "civiclens.role";

    /// <summary>Metadata key: the node's name (stable across restarts; shown in the console and on each camera).</summary>
    public const string NameKey = "civiclens.name";

    /// <summary>Metadata key: how many cameras the node carries at most.</summary>
    public const string CapacityKey = "civiclens.capacity";

    /// <summary>API, console, store and jobs; never analyses a camera.</summary>
    public const string Hub = "hub";

    /// <summary>Decode, detect, track, rules, redaction and evidence for the cameras placed on it.</summary>
    public const string Node = "node";

    /// <summary>The key of the one <see cref="IDistrictGrain"/>.</summary>
    public const string DistrictKey = "district";

    /// <summary>The prefix of a grain key that names the one hub it must live on (<see cref="HubBound"/>).</summary>
    public const string HubBoundPrefix = "hub@";

    /// <summary>The key of a grain that lives on the named hub and nowhere else (no hub of that name: no activation).</summary>
    public static string HubBound(string hubName) => HubBoundPrefix + hubName;
}
