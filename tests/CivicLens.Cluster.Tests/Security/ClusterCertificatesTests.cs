using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CivicLens.Cluster.Security;
using CivicLens.TestSupport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;

namespace CivicLens.Cluster.Tests.Security;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterCertificatesTests : IDisposable
{
    private static readonly TimeSpan Year = TimeSpan.FromDays(365);
    private static readonly string[] Hosts = ["node-a.district.local", "10.0.4.17", "localhost", "::1"];
    private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();
    private readonly X509Certificate2 _ca = ClusterCertificates.CreateAuthority("riverside", 5 * Year);

    public void Dispose()
    {
        _ca.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void CreateAuthority_Certificate_IsAPathLengthZeroCaForSigningOnly()
    {
        Assert.Equal("CN=CivicLens cluster CA riverside", _ca.Subject);
        Assert.Equal(_ca.Subject, _ca.Issuer);
        Assert.True(_ca.HasPrivateKey);
        Assert.Equal("1.2.840.10045.2.1", _ca.PublicKey.Oid.Value); // ECDSA
        var constraints = Assert.Single(_ca.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.Equal((true, true, 0), (constraints.CertificateAuthority, constraints.HasPathLengthConstraint, constraints.PathLengthConstraint));
        var usage = Assert.Single(_ca.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
    }

    [Fact]
    public void Issue_NodeCertificate_CarriesNamesBothUsagesAndStaysWithinTheCa()
    {
        using var node = ClusterCertificates.Issue(_ca, "node-a", Hosts, 10 * Year);

        Assert.Equal("CN=node-a", node.Subject);
        Assert.Equal(_ca.Subject, node.Issuer);
        Assert.True(node.HasPrivateKey);
        Assert.Equal(16, node.SerialNumberBytes.Length);
        var san = Assert.Single(node.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["node-a.district.local", "localhost"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Parse("10.0.4.17"), IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        var eku = Assert.Single(node.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.False(Assert.Single(node.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, Assert.Single(node.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages);
        Assert.Equal(_ca.NotAfter, node.NotAfter); // ten years asked, capped to the CA's five
    }

    [Theory]
    [InlineData("Node-A")]
    [InlineData("-node")]
    [InlineData("node_a")]
    [InlineData("../ca")]
    [InlineData("")]
    public void Issue_BadNodeName_RefusedWithTheRule(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => ClusterCertificates.Issue(_ca, name, Hosts, Year));
        Assert.Contains("lower-case letters, digits and '-'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NodeIssuedByTheCa_Accepted()
    {
        using var node = ClusterCertificates.Issue(_ca, "node-a", Hosts, Year);

        // The platform flags a name mismatch and an untrusted root (the CA is in no system store); neither decides.
        var ok = ClusterCertificates.Validate(_ca, node, null,
                                              SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, out var reason);

        Assert.True(ok, reason);
    }

    [Fact]
    public void Validate_NodeIssuedByAnotherCaOfTheSameName_RefusedAsNotSignedByThisCa()
    {
        using var other = ClusterCertificates.CreateAuthority("riverside", Year);
        using var stranger = ClusterCertificates.Issue(other, "node-a", Hosts, Year);

        var ok = ClusterCertificates.Validate(_ca, stranger, null, SslPolicyErrors.None, out var reason);

        Assert.False(ok);
        Assert.StartsWith("not signed by this cluster's CA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ExpiredNode_RefusedWithTheDate()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        using var ca = ClusterCertificates.CreateAuthority("riverside", 5 * Year, time);
        using var node = ClusterCertificates.Issue(ca, "node-a", Hosts, TimeSpan.FromDays(30), time);
        Assert.True(ClusterCertificates.Validate(ca, node, null, SslPolicyErrors.None, out var before, time), before);

        time.Advance(TimeSpan.FromDays(31));
        var ok = ClusterCertificates.Validate(ca, node, null, SslPolicyErrors.None, out var reason, time);

        Assert.False(ok);
        Assert.Equal("expired on 2026-12-23 09:00:00Z", reason);
    }

    [Fact]
    public void Validate_SelfSignedLeafWithTheSameName_Refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=node-a", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = TimeProvider.System.GetUtcNow();
        using var selfSigned = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));

        var ok = ClusterCertificates.Validate(_ca, selfSigned, null, SslPolicyErrors.None, out var reason);

        Assert.False(ok);
        Assert.StartsWith("not signed by this cluster's CA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TheCaCertificateItself_RefusedAsNotANode()
    {
        using var publicCa = X509CertificateLoader.LoadCertificate(_ca.RawData);

        var ok = ClusterCertificates.Validate(_ca, publicCa, null, SslPolicyErrors.None, out var reason);

        Assert.False(ok);
        Assert.Contains("not a node certificate", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoCertificate_Refused()
    {
        var ok = ClusterCertificates.Validate(_ca, null, null, SslPolicyErrors.RemoteCertificateNotAvailable, out var reason);

        Assert.False(ok);
        Assert.Equal("no certificate", reason);
    }

    [Fact]
    public void WriteAuthority_Files_KeyAndFolderPrivateAndReloadable()
    {
        var dir = Path.Combine(_dir.Path, "cluster-ca");

        ClusterCertificates.WriteAuthority(_ca, dir);

        var keyPath = Path.Combine(dir, "ca.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", File.ReadAllText(Path.Combine(dir, "ca.crt")), StringComparison.Ordinal);
        using var withKey = ClusterCertificates.LoadAuthorityWithKey(dir);
        using var publicOnly = ClusterCertificates.LoadAuthority(Path.Combine(dir, "ca.crt"));
        Assert.True(withKey.HasPrivateKey);
        Assert.False(publicOnly.HasPrivateKey);
        Assert.Equal(_ca.Thumbprint, withKey.Thumbprint);
        using var node = ClusterCertificates.Issue(withKey, "node-b", Hosts, Year);
        Assert.True(ClusterCertificates.Validate(publicOnly, node, null, SslPolicyErrors.None, out var reason), reason);
    }

    [Fact]
    public void WriteAuthority_ExistingCa_NeverOverwritten()
    {
        ClusterCertificates.WriteAuthority(_ca, _dir.Path);
        var before = File.ReadAllBytes(Path.Combine(_dir.Path, "ca.key"));
        using var other = ClusterCertificates.CreateAuthority("riverside", Year);

        var ex = Assert.Throws<IOException>(() => ClusterCertificates.WriteAuthority(other, _dir.Path));

        Assert.Contains("never overwritten", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir.Path, "ca.key")));
    }

    [Fact]
    public void LoadAuthorityWithKey_KeyReadableByOthers_Refused()
    {
        ClusterCertificates.WriteAuthority(_ca, _dir.Path);
        var keyPath = Path.Combine(_dir.Path, "ca.key");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

        var ex = Assert.Throws<IOException>(() => ClusterCertificates.LoadAuthorityWithKey(_dir.Path));

        Assert.Contains($"chmod 600 {keyPath}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteNode_Pfx_PrivateAndLoadsWithItsKey()
    {
        using var node = ClusterCertificates.Issue(_ca, "node-a", Hosts, Year);

        ClusterCertificates.WriteNode(node, _dir.Path, "node-a");

        var pfx = Path.Combine(_dir.Path, "node-a.pfx");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pfx));
        using var loaded = ClusterCertificates.LoadNode(pfx);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(node.Thumbprint, loaded.Thumbprint);
        using var crt = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir.Path, "node-a.crt"));
        Assert.Equal(node.Thumbprint, crt.Thumbprint);
    }

    [Fact]
    public void LoadNode_PfxReadableByOthers_RefusedWithTheFix()
    {
        using var node = ClusterCertificates.Issue(_ca, "node-a", Hosts, Year);
        ClusterCertificates.WriteNode(node, _dir.Path, "node-a");
        var pfx = Path.Combine(_dir.Path, "node-a.pfx");
        File.SetUnixFileMode(pfx, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var ex = Assert.Throws<IOException>(() => ClusterCertificates.LoadNode(pfx));

        Assert.Contains("readable by other users", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {pfx}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteNode_ReissuedOverAWorldReadableFile_EndsPrivate()
    {
        using var first = ClusterCertificates.Issue(_ca, "node-a", Hosts, Year);
        ClusterCertificates.WriteNode(first, _dir.Path, "node-a");
        var pfx = Path.Combine(_dir.Path, "node-a.pfx");
        File.SetUnixFileMode(pfx, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        using var second = ClusterCertificates.Issue(_ca, "node-a", Hosts, Year);

        ClusterCertificates.WriteNode(second, _dir.Path, "node-a");

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pfx));
        using var loaded = ClusterCertificates.LoadNode(pfx);
        Assert.Equal(second.Thumbprint, loaded.Thumbprint);
        Assert.Equal(["node-a.crt", "node-a.pfx"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Handshake_TwoNodesOfTheCluster_ConnectBothWays()
    {
        using var a = Reloaded(ClusterCertificates.Issue(_ca, "node-a", Hosts, Year), "node-a");
        using var b = Reloaded(ClusterCertificates.Issue(_ca, "node-b", Hosts, Year), "node-b");

        var result = await HandshakeAsync(server: a, client: b);

        Assert.Null(result.ServerError);
        Assert.Null(result.ClientError);
        Assert.Equal(("CN=node-b", "CN=node-a"), (result.ServerSaw, result.ClientSaw));
    }

    [Fact]
    public async Task Handshake_StrangerDialsIn_ServerRefusesIt()
    {
        using var a = Reloaded(ClusterCertificates.Issue(_ca, "node-a", Hosts, Year), "node-a");
        using var other = ClusterCertificates.CreateAuthority("riverside", Year);
        using var stranger = ClusterCertificates.Issue(other, "node-x", Hosts, Year);

        var result = await HandshakeAsync(server: a, client: stranger);

        Assert.IsType<AuthenticationException>(result.ServerError);
        Assert.NotNull(result.ClientError); // TLS 1.3: the client learns of it on its first read
        Assert.StartsWith("not signed by this cluster's CA", result.ServerReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handshake_NodeDialsAStranger_ClientRefusesIt()
    {
        using var a = Reloaded(ClusterCertificates.Issue(_ca, "node-a", Hosts, Year), "node-a");
        using var other = ClusterCertificates.CreateAuthority("riverside", Year);
        using var stranger = ClusterCertificates.Issue(other, "node-x", Hosts, Year);

        var result = await HandshakeAsync(server: stranger, client: a);

        Assert.IsType<AuthenticationException>(result.ClientError);
        Assert.NotNull(result.ServerError);
        Assert.StartsWith("not signed by this cluster's CA", result.ClientReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseClusterTls_Silo_AdmitsAMemberAndRefusesAndLogsAStranger()
    {
        using var silo = Reloaded(ClusterCertificates.Issue(_ca, "node-a", Hosts, Year), "node-a");
        using var member = Reloaded(ClusterCertificates.Issue(_ca, "node-b", Hosts, Year), "node-b");
        using var other = ClusterCertificates.CreateAuthority("riverside", Year);
        using var stranger = ClusterCertificates.Issue(other, "node-x", Hosts, Year);
        using var publicCa = X509CertificateLoader.LoadCertificate(_ca.RawData); // a node holds ca.crt only
        var log = new RecordingLogger();
        var (siloPort, gatewayPort) = (FreePort(), FreePort());
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(s => s.UseLocalhostClustering(siloPort, gatewayPort).UseClusterTls(silo, publicCa, log));
        using var host = builder.Build();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(deadline.Token);
        try
        {
            var admitted = await DialAsync(siloPort, member, _ca, deadline.Token);
            var refused = await DialAsync(siloPort, stranger, _ca, deadline.Token);

            Assert.Equal("CN=node-a", admitted);
            Assert.Null(refused);
            await Eventually.TrueAsync(() => !log.Entries.IsEmpty, TimeSpan.FromSeconds(10), "the silo to log the refused stranger");
            var (level, message) = Assert.Single(log.Entries);
            Assert.Equal(LogLevel.Warning, level);
            Assert.Contains("CN=node-x", message, StringComparison.Ordinal);
            Assert.Contains("not signed by this cluster's CA", message, StringComparison.Ordinal);
            Assert.DoesNotContain("PRIVATE", message, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Opens a TLS connection to a silo as <paramref name="cert"/>; the silo's subject if it let us in, else null.</summary>
    private static async Task<string?> DialAsync(int port, X509Certificate2 cert, X509Certificate2 authority, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificates = [cert],
                EnabledSslProtocols = SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ApplicationProtocols = [new SslApplicationProtocol("Orleans1")],
                RemoteCertificateValidationCallback = (_, c, chain, errors) => ClusterCertificates.Validate(authority, c, chain, errors, out string _),
            }, ct);
            // TLS 1.3 sends the verdict on the client's certificate after the handshake; a read surfaces a refusal.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromSeconds(2));
            var read = await tls.ReadAsync(new byte[1], wait.Token);
            return read == 0 ? null : tls.RemoteCertificate?.Subject;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Still connected, waiting for the Orleans preamble that a raw client never sends: admitted.
            return tls.RemoteCertificate?.Subject;
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private sealed class RecordingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }

    /// <summary>Through the files, as a node would load it.</summary>
    private X509Certificate2 Reloaded(X509Certificate2 issued, string name)
    {
        using (issued) ClusterCertificates.WriteNode(issued, _dir.Path, name);
        return ClusterCertificates.LoadNode(Path.Combine(_dir.Path, name + ".pfx"));
    }

    private sealed record Outcome(Exception? ServerError, Exception? ClientError, string? ServerSaw, string? ClientSaw, string? ServerReason, string? ClientReason);

    /// <summary>
    /// One mutual-TLS connection over loopback, each side judging the other with <see cref="ClusterCertificates.Validate"/>
    /// against this test's CA, then one byte each way so a refusal that TLS 1.3 reports after the handshake surfaces.
    /// </summary>
    private async Task<Outcome> HandshakeAsync(X509Certificate2 server, X509Certificate2 client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            string? serverReason = null, clientReason = null, serverSaw = null, clientSaw = null;

            var serverSide = Capture(async () =>
            {
                using var tcp = await listener.AcceptTcpClientAsync(deadline.Token);
                await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = server,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, cert, chain, errors) => ClusterCertificates.Validate(_ca, cert, chain, errors, out serverReason),
                }, deadline.Token);
                serverSaw = tls.RemoteCertificate?.Subject;
                var one = new byte[1];
                await tls.ReadExactlyAsync(one, deadline.Token);
                await tls.WriteAsync(one, deadline.Token);
            });
            var clientSide = Capture(async () =>
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
                await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "127.0.0.1",
                    ClientCertificates = [client],
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, cert, chain, errors) => ClusterCertificates.Validate(_ca, cert, chain, errors, out clientReason),
                }, deadline.Token);
                clientSaw = tls.RemoteCertificate?.Subject;
                await tls.WriteAsync(new byte[] { 42 }, deadline.Token);
                var echo = new byte[1];
                await tls.ReadExactlyAsync(echo, deadline.Token);
                Assert.Equal(42, echo[0]);
            });

            var errors = await Task.WhenAll(serverSide, clientSide);
            Assert.False(deadline.IsCancellationRequested, "the handshake did not finish within 20 s");
            return new Outcome(errors[0], errors[1], serverSaw, clientSaw, serverReason, clientReason);
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task<Exception?> Capture(Func<Task> side)
    {
        try
        {
            await side();
            return null;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or OperationCanceledException)
        {
            return ex;
        }
    }
}
