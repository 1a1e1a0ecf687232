using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Connections.Security;

namespace CivicLens.Cluster.Security;

/// <summary>
/// Mutual TLS on every silo-to-silo and gateway connection: each side presents its node certificate and accepts
/// the other only if it was issued by this cluster's CA (<see cref="ClusterCertificates.Validate"/>).
/// </summary>
public static partial class ClusterTls
{
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, X509Certificate2 nodeCertificate, X509Certificate2 authority, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(silo);
        Check(nodeCertificate, authority);
        return silo.UseTls(nodeCertificate, options => Configure(options, authority, log ?? NullLogger.Instance));
    }

    /// <summary>The same for an Orleans client: the gateway demands a certificate from it as from any silo.</summary>
    public static IClientBuilder UseClusterTls(this IClientBuilder client, X509Certificate2 nodeCertificate, X509Certificate2 authority, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        Check(nodeCertificate, authority);
        return client.UseTls(nodeCertificate, options => Configure(options, authority, log ?? NullLogger.Instance));
    }

    private static void Check(X509Certificate2 nodeCertificate, X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(nodeCertificate);
        ArgumentNullException.ThrowIfNull(authority);
        if (!nodeCertificate.HasPrivateKey) throw new ArgumentException("The node certificate has no private key; load the node's .pfx.", nameof(nodeCertificate));
    }

    private static void Configure(TlsOptions options, X509Certificate2 authority, ILogger log)
    {
        // Both directions present a certificate: a silo that cannot prove membership gets no connection either way.
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        // The CA is private and publishes no revocation list; a compromised node is removed by re-keying the cluster.
        options.CheckCertificateRevocation = false;
        options.RemoteCertificateValidation = (certificate, chain, errors) =>
        {
            if (ClusterCertificates.Validate(authority, certificate, chain, errors, out var reason)) return true;
            PeerRefused(log, certificate.Subject, certificate.Thumbprint, reason);
            return false;
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused TLS from cluster peer {Subject} (certificate {Thumbprint}): {Reason}")]
    private static partial void PeerRefused(ILogger log, string subject, string thumbprint, string reason);
}
