using System.Text.RegularExpressions;
using CivicLens.TestSupport;
using Xunit.Abstractions;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>
/// <c>civiclens bench cluster</c> small: a hub and two control-plane-only nodes as processes on the test PostgreSQL;
/// every camera is placed, and every camera of the killed node runs on the survivor. The bench makes and drops its
/// own database.
/// </summary>
[Collection(ClusterProcesses.Name)]
public sealed partial class ClusterBenchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Bench_cluster_small_places_every_camera_and_moves_the_killed_nodes_cameras()
    {
        var admin = Environment.GetEnvironmentVariable(TestDatabase.PostgresVariable);
        Assert.False(string.IsNullOrWhiteSpace(admin), $"{TestDatabase.PostgresVariable} is not set: this test needs the PostgreSQL that ./test.sh starts.");
        var bench = ClusterProcess.Start("bench", new Dictionary<string, string>(),
            "bench", "cluster", "--cameras", "200", "--nodes", "2", "--flips", "200", "--flip-seconds", "3", "--timeout-minutes", "2", "--postgres", admin!);
        try
        {
            Assert.True(await bench.WaitForExitAsync(TimeSpan.FromSeconds(150)), "bench cluster did not finish in 150 s:\n" + bench.Output);
            output.WriteLine(bench.Output);
            Assert.True(bench.ExitCode == 0, bench.Output);
            Assert.Contains("placed: 200 of 200", bench.Output, StringComparison.Ordinal);
            var moved = Moved().Match(bench.Output);
            Assert.True(moved.Success, bench.Output);
            Assert.Equal(moved.Groups[2].Value, moved.Groups[1].Value);
            Assert.True(int.Parse(moved.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "the killed node ran no camera:\n" + bench.Output);
        }
        finally
        {
            await bench.DisposeAsync();
        }
    }

    [GeneratedRegex(@"moved: (\d+) of (\d+)")]
    private static partial Regex Moved();
}
