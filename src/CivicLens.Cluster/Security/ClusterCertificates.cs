using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace CivicLens.Cluster.Security;

/// <summary>
/// The cluster's private certificate authority and the node certificates it issues: every silo presents one and
/// accepts a peer only if it chains to this CA (mutual TLS), so the CA is the cluster's membership list.
/// </summary>
public static partial class ClusterCertificates
{
    public const string AuthorityCertificateFile = "ca.crt";
    public const string AuthorityKeyFile = "ca.key";

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    // Silos' clocks drift; a certificate made on one must already be valid on the others.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Node names become file names and certificate subjects: lower-case DNS labels only.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex NodeNamePattern();

    public static bool IsValidNodeName(string? name) => name is not null && NodeNamePattern().IsMatch(name);

    /// <summary>The CA's subject for a cluster: how a reused CA is matched to the cluster it was made for.</summary>
    public static X500DistinguishedName AuthorityName(string clusterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clusterName);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName($"CivicLens cluster CA {clusterName.Trim()}");
        return subject.Build();
    }

    /// <summary>A self-signed ECDSA P-256 CA that may sign node certificates only (path length 0).</summary>
    public static X509Certificate2 CreateAuthority(string clusterName, TimeSpan validity, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(clusterName);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(validity, TimeSpan.Zero);
        var now = (time ?? TimeProvider.System).GetUtcNow();

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(AuthorityName(clusterName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now - ClockSkew, now + validity);
    }

    /// <summary>
    /// A node certificate signed by <paramref name="authority"/>: usable as TLS server and client (a silo both
    /// accepts and opens connections), valid for the given DNS names and IP addresses, never beyond the CA.
    /// </summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string nodeName, IEnumerable<string> dnsNamesOrIps, TimeSpan validity,
                                         TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(dnsNamesOrIps);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(validity, TimeSpan.Zero);
        if (!IsValidNodeName(nodeName)) throw new ArgumentException(BadNodeName(nodeName), nameof(nodeName));
        if (!authority.HasPrivateKey) throw new ArgumentException("The cluster CA was loaded without its private key; it cannot issue certificates.", nameof(authority));

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var caNotBefore = new DateTimeOffset(authority.NotBefore);
        var caNotAfter = new DateTimeOffset(authority.NotAfter);
        var notBefore = Max(now - ClockSkew, caNotBefore);
        var notAfter = Min(now + validity, caNotAfter);
        if (notAfter <= now) throw new InvalidOperationException($"The cluster CA expired on {caNotAfter:u}; create a new CA and re-issue every node's certificate.");

        var san = new SubjectAlternativeNameBuilder();
        var any = false;
        foreach (var entry in dnsNamesOrIps.Select(n => n.Trim()).Where(n => n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(entry, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(entry);
            any = true;
        }

        if (!any) throw new ArgumentException("A node certificate needs at least one DNS name or IP address.", nameof(dnsNamesOrIps));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(nodeName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid), new Oid(ClientAuthOid)], false));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40); // positive and minimal as a DER integer (RFC 5280)
        using var signed = request.Create(authority, notBefore, notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Writes <c>ca.crt</c> (public, for every node) and <c>ca.key</c> (mode 0600, only where nodes are enrolled).
    /// Never overwrites: a new CA key would orphan every node certificate already issued.
    /// </summary>
    public static void WriteAuthority(X509Certificate2 ca, string directory)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        using var key = ca.GetECDsaPrivateKey() ?? throw new ArgumentException("The cluster CA has no private key to write.", nameof(ca));
        var crtPath = Path.Combine(directory, AuthorityCertificateFile);
        var keyPath = Path.Combine(directory, AuthorityKeyFile);
        foreach (var path in new[] { crtPath, keyPath })
        {
            if (File.Exists(path)) throw new IOException($"{path} already exists; a cluster CA is never overwritten (every node certificate it issued would stop working).");
        }

        CreatePrivateDirectory(directory);
        var der = key.ExportPkcs8PrivateKey();
        var pem = PemEncoding.WriteUtf8("PRIVATE KEY"u8, der);
        try
        {
            WriteNew(keyPath, pem, OwnerOnly);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(pem);
        }

        WriteNew(crtPath, PemEncoding.WriteUtf8("CERTIFICATE"u8, ca.RawData), OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>
    /// Writes <c>{nodeName}.pfx</c> (certificate and key, no password, mode 0600: the file a node loads) and
    /// <c>{nodeName}.crt</c> (public). Re-issuing a node replaces its files atomically.
    /// </summary>
    public static void WriteNode(X509Certificate2 cert, string directory, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(cert);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!IsValidNodeName(nodeName)) throw new ArgumentException(BadNodeName(nodeName), nameof(nodeName));
        if (!cert.HasPrivateKey) throw new ArgumentException("The node certificate has no private key; a node cannot use it.", nameof(cert));

        CreatePrivateDirectory(directory);
        var pfx = cert.Export(X509ContentType.Pkcs12);
        try
        {
            Replace(Path.Combine(directory, nodeName + ".pfx"), pfx, OwnerOnly);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pfx);
        }

        Replace(Path.Combine(directory, nodeName + ".crt"), PemEncoding.WriteUtf8("CERTIFICATE"u8, cert.RawData),
                OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>The CA's public certificate (<c>ca.crt</c>), all a node needs to judge its peers.</summary>
    public static X509Certificate2 LoadAuthority(string caCrtPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(caCrtPath);
        X509Certificate2 ca;
        try
        {
            ca = X509CertificateLoader.LoadCertificateFromFile(caCrtPath);
        }
        catch (FileNotFoundException ex)
        {
            throw new IOException($"The cluster CA certificate {caCrtPath} does not exist. Create it with 'civiclens keys cluster create' and copy ca.crt to every node.", ex);
        }
        catch (CryptographicException ex)
        {
            throw new IOException($"The cluster CA certificate {caCrtPath} is not a PEM or DER certificate: {ex.Message}", ex);
        }

        EnsureAuthority(ca, caCrtPath);
        return ca;
    }

    /// <summary>The CA with its private key (<c>ca.crt</c> and <c>ca.key</c> in <paramref name="directory"/>), to issue node certificates.</summary>
    public static X509Certificate2 LoadAuthorityWithKey(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var crtPath = Path.Combine(directory, AuthorityCertificateFile);
        var keyPath = Path.Combine(directory, AuthorityKeyFile);
        if (!File.Exists(crtPath) || !File.Exists(keyPath))
        {
            throw new IOException($"{directory} does not hold both {AuthorityCertificateFile} and {AuthorityKeyFile}; create the CA with 'civiclens keys cluster create'.");
        }

        EnsureOwnerOnly(keyPath, "The cluster CA key");
        X509Certificate2 ca;
        try
        {
            ca = X509Certificate2.CreateFromPemFile(crtPath, keyPath);
        }
        catch (CryptographicException ex)
        {
            throw new IOException($"The cluster CA in {directory} cannot be read ({AuthorityKeyFile} must be the key of {AuthorityCertificateFile}): {ex.Message}", ex);
        }

        EnsureAuthority(ca, crtPath);
        return ca;
    }

    /// <summary>A node's certificate with its key (<c>{node}.pfx</c>); refused if other users can read it.</summary>
    public static X509Certificate2 LoadNode(string pfxPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pfxPath);
        if (!File.Exists(pfxPath))
        {
            throw new IOException($"The node certificate {pfxPath} does not exist. Issue it with 'civiclens keys cluster create --node NAME' where the cluster CA is kept.");
        }

        EnsureOwnerOnly(pfxPath, "The node certificate");
        X509Certificate2 cert;
        try
        {
            cert = X509CertificateLoader.LoadPkcs12FromFile(pfxPath, null);
        }
        catch (CryptographicException ex)
        {
            throw new IOException($"The node certificate {pfxPath} is not a password-less PKCS#12 file: {ex.Message}", ex);
        }

        if (!cert.HasPrivateKey)
        {
            cert.Dispose();
            throw new IOException($"The node certificate {pfxPath} holds no private key; re-issue it with 'civiclens keys cluster create'.");
        }

        return cert;
    }

    /// <summary>
    /// Whether a TLS peer belongs to this cluster: its certificate chains to exactly <paramref name="authority"/>, is
    /// within its validity and is meant for TLS. The platform's verdict and chain are not trusted: they are built
    /// against the system's roots and check the host name, while silos dial each other by IP and the CA is private
    /// to the cluster, so the chain is rebuilt here against this CA alone.
    /// </summary>
    public static bool Validate(X509Certificate2 authority, X509Certificate? remote, X509Chain? chain, SslPolicyErrors errors, out string reason,
                                TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        _ = chain;
        if (remote is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            reason = "no certificate";
            return false;
        }

        var owned = remote is not X509Certificate2;
        var cert = remote as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        try
        {
            return Judge(authority, cert, (time ?? TimeProvider.System).GetUtcNow(), out reason);
        }
        finally
        {
            if (owned) cert.Dispose();
        }
    }

    private static bool Judge(X509Certificate2 authority, X509Certificate2 cert, DateTimeOffset now, out string reason)
    {
        if (now < new DateTimeOffset(cert.NotBefore))
        {
            reason = $"not valid before {new DateTimeOffset(cert.NotBefore):u}";
            return false;
        }

        if (now > new DateTimeOffset(cert.NotAfter))
        {
            reason = $"expired on {new DateTimeOffset(cert.NotAfter):u}";
            return false;
        }

        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.Add(authority);
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        own.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        own.ChainPolicy.DisableCertificateDownloads = true;
        own.ChainPolicy.VerificationTime = now.UtcDateTime;
        own.ChainPolicy.VerificationTimeIgnored = false;
        try
        {
            if (!own.Build(cert))
            {
                var status = own.ChainStatus.Select(s => s.Status).Aggregate(X509ChainStatusFlags.NoError, (a, b) => a | b);
                reason = status.HasFlag(X509ChainStatusFlags.NotTimeValid)
                    ? $"outside its CA's validity (CA expires {new DateTimeOffset(authority.NotAfter):u})"
                    : $"not signed by this cluster's CA ({status})";
                return false;
            }

            // CustomRootTrust already pins the root; checking it again costs nothing and guards a misconfigured store.
            var root = own.ChainElements[^1].Certificate;
            if (!root.RawDataMemory.Span.SequenceEqual(authority.RawDataMemory.Span))
            {
                reason = "not signed by this cluster's CA";
                return false;
            }

            if (own.ChainElements.Count < 2)
            {
                reason = "the cluster CA itself, not a node certificate";
                return false;
            }
        }
        finally
        {
            // The chain hands out its own copies; never dispose the caller's certificates.
            foreach (var element in own.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, cert) && !ReferenceEquals(element.Certificate, authority)) element.Certificate.Dispose();
            }
        }

        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault();
        if (eku is null || !eku.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value is ServerAuthOid or ClientAuthOid))
        {
            reason = "not issued for TLS (no serverAuth or clientAuth usage)";
            return false;
        }

        reason = "signed by this cluster's CA";
        return true;
    }

    private static string BadNodeName(string? name) =>
        $"'{name}' is not a valid node name: use 1 to 63 lower-case letters, digits and '-', starting with a letter or digit.";

    private static void EnsureAuthority(X509Certificate2 ca, string path)
    {
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().SingleOrDefault();
        if (constraints is not { CertificateAuthority: true })
        {
            ca.Dispose();
            throw new IOException($"{path} is not a CA certificate; point at the cluster's ca.crt.");
        }
    }

    private static void EnsureOwnerOnly(string path, string what)
    {
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
        {
            throw new IOException($"{what} {path} is readable by other users; restrict it: chmod 600 {path}");
        }
    }

    private static void CreatePrivateDirectory(string directory)
    {
        if (Directory.Exists(directory)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static void WriteNew(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        using var file = new FileStream(path, options);
        file.Write(bytes);
        file.Flush(flushToDisk: true);
    }

    // Through a fresh file and a rename: an existing file keeps its old mode on rewrite, a new one gets ours.
    private static void Replace(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode)
    {
        var temp = path + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".tmp";
        try
        {
            WriteNew(temp, bytes, mode);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
