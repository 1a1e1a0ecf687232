using System.Globalization;
using CivicLens.Cluster.Security;
using CivicLens.TestSupport;
using Npgsql;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>A hub and nodes as processes with mutual TLS: a node with this cluster's certificate joins, one with a stranger's cannot, and the refusal is logged with why.</summary>
[Collection(ClusterProcesses.Name)]
public sealed class TlsJoinTests
{
    [Fact]
    public async Task A_node_whose_certificate_another_CA_signed_cannot_join()
    {
        await using var db = await TestDatabase.CreateAsync("PostgreSql", migrate: false);
        using var dir = TestAssets.CreateTempDirectory();
        var pki = Path.Combine(dir.Path, "pki");
        using (var ca = ClusterCertificates.CreateAuthority("district", TimeSpan.FromDays(30)))
        {
            ClusterCertificates.WriteAuthority(ca, pki);
            foreach (var name in new[] { "hub-a", "n1" })
            {
                using var cert = ClusterCertificates.Issue(ca, name, ["localhost", "127.0.0.1"], TimeSpan.FromDays(30));
                ClusterCertificates.WriteNode(cert, pki, name);
            }
        }

        var strangers = Path.Combine(dir.Path, "strangers");
        using (var other = ClusterCertificates.CreateAuthority("district", TimeSpan.FromDays(30)))
        {
            ClusterCertificates.WriteAuthority(other, strangers);
            using var cert = ClusterCertificates.Issue(other, "n2", ["localhost", "127.0.0.1"], TimeSpan.FromDays(30));
            ClusterCertificates.WriteNode(cert, strangers, "n2");
        }

        var env = new Dictionary<string, string> { ["CIVICLENS_POSTGRES"] = db.Options.ConnectionString!, ["CIVICLENS_ADMIN_PASSWORD"] = "Tls join test pass 5519 otter" };
        var ca_crt = Path.Combine(pki, "ca.crt");
        var processes = new List<ClusterProcess>();
        try
        {
            var hub = ClusterProcess.Start("hub", env, "serve", "--cluster", "--name", "hub-a", "--silo-port", Port(), "--config", Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"),
                "--data", Path.Combine(dir.Path, "hub"), "--urls", $"http://127.0.0.1:{ClusterProcess.FreePort()}", "--no-pipelines",
                "--cluster-certificate", Path.Combine(pki, "hub-a.pfx"), "--cluster-ca", ca_crt);
            processes.Add(hub);
            await Eventually.TrueAsync(() => hub.Output.Contains("CivicLens is serving", StringComparison.Ordinal) || hub.HasExited, TimeSpan.FromSeconds(120), "the hub to serve");
            Assert.False(hub.HasExited, hub.Output);

            processes.Add(ClusterProcess.Start("n1", env, "node", "--name", "n1", "--silo-port", Port(), "--capacity", "1", "--data", Path.Combine(dir.Path, "n1"),
                "--cluster-certificate", Path.Combine(pki, "n1.pfx"), "--cluster-ca", ca_crt));
            // The stranger trusts its own CA and presents its own certificate: the hub must refuse it either way.
            var stranger = ClusterProcess.Start("n2", env, "node", "--name", "n2", "--silo-port", Port(), "--capacity", "1", "--data", Path.Combine(dir.Path, "n2"),
                "--cluster-certificate", Path.Combine(strangers, "n2.pfx"), "--cluster-ca", Path.Combine(strangers, "ca.crt"));
            processes.Add(stranger);

            await using var store = NpgsqlDataSource.Create(db.Options.ConnectionString!);
            await Eventually.TrueAsync(async () => (await StatusAsync(store, "n1")) == 3, TimeSpan.FromSeconds(90), "n1 to join (Active)");
            await Eventually.TrueAsync(() => hub.Output.Contains("Refused TLS from cluster peer CN=n2", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the hub to log the stranger");
            Assert.Contains("not signed by this cluster's CA", hub.Output, StringComparison.Ordinal);
            // It never becomes an active member: it fails to join and stops (or is declared dead).
            Assert.True(await stranger.WaitForExitAsync(TimeSpan.FromSeconds(120)) || await StatusAsync(store, "n2") != 3, stranger.Output);
            Assert.NotEqual(3, await StatusAsync(store, "n2"));
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }
    }

    private static string Port() => ClusterProcess.FreePort().ToString(CultureInfo.InvariantCulture);

    private static async Task<int?> StatusAsync(NpgsqlDataSource store, string silo)
    {
        await using var cmd = store.CreateCommand("SELECT status FROM orleansmembershiptable WHERE siloname = @n ORDER BY generation DESC LIMIT 1");
        cmd.Parameters.AddWithValue("n", silo);
        return await cmd.ExecuteScalarAsync() is int s ? s : null;
    }
}
