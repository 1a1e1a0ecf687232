using System.Net;
using CivicLens.Cluster.Hosting;

namespace CivicLens.Cluster.Tests.Hosting;

public sealed class ClusterSettingsTests
{
    private static ClusterSettings Node(Func<ClusterSettings, ClusterSettings>? change = null)
    {
        var s = new ClusterSettings { Role = ClusterRoles.Node, Name = "n-1", ConnectionString = "Host=db;Database=civiclens", Capacity = 15 };
        return change is null ? s : change(s);
    }

    [Fact]
    public void A_loopback_node_without_tls_may_start() => Assert.Empty(Node().Problems());

    [Fact]
    public void A_cluster_beyond_loopback_is_refused_without_mutual_tls()
    {
        var problems = Node(s => s with { AdvertisedAddress = IPAddress.Parse("10.0.0.5") }).Problems();
        Assert.Contains(problems, p => p.Contains("must use mutual TLS", StringComparison.Ordinal) && p.Contains("keys cluster create", StringComparison.Ordinal));
        Assert.Empty(Node(s => s with { AdvertisedAddress = IPAddress.Parse("10.0.0.5"), CertificatePath = "n-1.pfx", AuthorityPath = "ca.crt" }).Problems());
    }

    [Fact]
    public void Every_problem_is_said_at_once()
    {
        var problems = Node(s => s with { Name = "Node_1", ConnectionString = " ", Capacity = 0, SiloPort = 70000, CertificatePath = "x.pfx" }).Problems();
        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.Contains("--name", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("--postgres", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("--capacity", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("--silo-port", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("go together", StringComparison.Ordinal));
    }

    [Fact]
    public void A_hub_carries_no_cameras_and_needs_no_capacity() =>
        Assert.Empty(Node(s => s with { Role = ClusterRoles.Hub, Capacity = 0 }).Problems());

    [Fact]
    public void Check_throws_with_the_problems() =>
        Assert.Contains("--capacity", Assert.Throws<Server.Hosting.StartupException>(() => ClusterSetup.Check(Node(s => s with { Capacity = 0 }))).Message, StringComparison.Ordinal);
}
