using System.Net;
using System.Text.RegularExpressions;

namespace CivicLens.Cluster.Hosting;

/// <summary>
/// How a hub or node joins the cluster (flags of <c>serve --cluster</c> and <c>node</c>; docs/cluster.md). Checked
/// before anything starts: a cluster on anything but loopback must have TLS.
/// </summary>
public sealed partial record ClusterSettings
{
    /// <summary><see cref="ClusterRoles.Hub"/> or <see cref="ClusterRoles.Node"/>.</summary>
    public required string Role { get; init; }

    /// <summary>This silo's name, unique in the cluster (a node's cameras show it).</summary>
    public required string Name { get; init; }

    /// <summary>The PostgreSQL holding membership and reminders (the hub's own database).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>One district's cluster; hubs and nodes with another id never meet.</summary>
    public string ClusterId { get; init; } = "civiclens";

    /// <summary>The address other silos reach this one at.</summary>
    public IPAddress AdvertisedAddress { get; init; } = IPAddress.Loopback;

    public int SiloPort { get; init; } = 11111;

    /// <summary>Cameras a node carries at most (0 on a hub: it carries none).</summary>
    public int Capacity { get; init; }

    /// <summary>This silo's certificate and key (PKCS#12, from <c>civiclens keys cluster create</c>).</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The cluster CA's certificate: a peer must present a certificate it signed.</summary>
    public string? AuthorityPath { get; init; }

    /// <summary>How long a silo may miss its probes before the others declare it dead (SIGSTOP, a cut cable).</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(3);

    public bool UsesTls => CertificatePath is not null;

    /// <summary>
    /// For <c>civiclens bench cluster</c> only: a node takes, checks and records its cameras and reports their health,
    /// but decodes nothing (no ffmpeg, no detector). See <see cref="Node.NodeCameras"/>.
    /// </summary>
    public bool ControlPlaneOnly { get; init; }

    /// <summary>Every problem at once, in the flags' words; empty when the silo may start.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Role is not (ClusterRoles.Hub or ClusterRoles.Node)) problems.Add($"role must be {ClusterRoles.Hub} or {ClusterRoles.Node}");
        if (!NamePattern().IsMatch(Name)) problems.Add($"--name '{Name}' must be 1-63 lower-case letters, digits or dashes");
        if (string.IsNullOrWhiteSpace(ConnectionString)) problems.Add("the cluster lives in PostgreSQL: give --postgres (or CIVICLENS_POSTGRES)");
        if (Role == ClusterRoles.Node && Capacity <= 0) problems.Add("--capacity must be at least 1 camera");
        if (SiloPort is <= 0 or > 65535) problems.Add("--silo-port must be 1-65535");
        if ((CertificatePath is null) != (AuthorityPath is null)) problems.Add("--cluster-certificate and --cluster-ca go together");
        if (!UsesTls && !IPAddress.IsLoopback(AdvertisedAddress))
        {
            problems.Add($"a cluster beyond loopback ({AdvertisedAddress}) must use mutual TLS: give --cluster-certificate and --cluster-ca (civiclens keys cluster create)");
        }

        return problems;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();
}
