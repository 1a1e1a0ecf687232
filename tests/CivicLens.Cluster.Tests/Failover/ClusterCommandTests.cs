namespace CivicLens.Cluster.Tests.Failover;

/// <summary>The cluster's commands refuse what could not form a safe cluster before anything starts, every problem at once.</summary>
[Collection(ClusterProcesses.Name)]
public sealed class ClusterCommandTests
{
    private static async Task<(bool Exited, int Code, string Output)> RunAsync(Dictionary<string, string> env, params string[] args)
    {
        await using var p = ClusterProcess.Start("cli", env, args);
        var exited = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exited, exited ? p.ExitCode : -1, p.Output);
    }

    [Fact]
    public async Task A_node_beyond_loopback_without_tls_and_without_a_database_is_refused_with_both_reasons()
    {
        var (exited, code, output) = await RunAsync(new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = "" }, "node", "--name", "n1", "--capacity", "4", "--advertise", "10.0.0.21");
        Assert.True(exited, output);
        Assert.Equal(2, code);
        Assert.Contains("must use mutual TLS", output, StringComparison.Ordinal);
        Assert.Contains("--postgres", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hub_without_postgres_is_refused()
    {
        using var dir = TestSupport.TestAssets.CreateTempDirectory();
        var (exited, code, output) = await RunAsync(new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = "" }, "serve", "--cluster", "--name", "hub-a", "--data", dir.Path);
        Assert.True(exited, output);
        Assert.Equal(2, code);
        Assert.Contains("--postgres", output, StringComparison.Ordinal);
    }
}
