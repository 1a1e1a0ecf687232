using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CivicLens.Server.Hosting;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace CivicLens.Server.Outbox;

/// <summary>
/// Sends mail through the configured server over one connection shared by every department's email channel (one
/// message at a time), made again when it was lost. SMTP's own outcome decides what a failure means: 4xx replies,
/// a lost or refused connection, a TLS or login failure say "not now" about the server; a 5xx reply refuses this
/// message for good.
/// </summary>
public sealed partial class SmtpSender : IAsyncDisposable
{
    private readonly SmtpTarget _target;
    private readonly TimeSpan _timeout;
    private readonly ILogger<SmtpSender> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly X509Certificate2Collection? _trustedRoots;
    private SmtpClient? _client;
    private string? _certificateProblem;

    public SmtpSender(SmtpTarget target, TimeSpan timeout, ILogger<SmtpSender> logger)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _timeout = timeout;
        _logger = logger;
        From = MailboxAddress.Parse(target.From);
        _trustedRoots = target.TrustedCaFile is { } ca ? LoadRoots(ca) : null;
    }

    /// <summary>The CA certificates of a PEM file (a city's own CA for its internal relay); a clear error when there are none.</summary>
    public static X509Certificate2Collection LoadRoots(string pemFile)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(pemFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"The mail server's CA file '{pemFile}' cannot be read: {ex.Message}", ex);
        }

        return roots.Count > 0 ? roots : throw new InvalidOperationException($"The mail server's CA file '{pemFile}' holds no PEM certificate.");
    }

    public MailboxAddress From { get; }

    public async Task<DeliveryResult> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            var reused = _client is { IsConnected: true };
            try
            {
                await SendOnceAsync(message, timeout.Token);
            }
            catch (Exception ex) when (reused && (ex is ServiceNotConnectedException or IOException or SmtpProtocolException) && !timeout.IsCancellationRequested)
            {
                // A connection kept from an earlier message may have been closed by the server while idle: one fresh try.
                Drop();
                await SendOnceAsync(message, timeout.Token);
            }

            return DeliveryResult.Success;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Drop();
            return DeliveryResult.Failed("SMTP timed out", channelDown: true);
        }
        catch (SmtpCommandException ex)
        {
            var code = (int)ex.StatusCode;
            // After a refused command the session is in an unknown state: start the next message on a new one.
            Drop();
            // The server's reply text is left out: it usually quotes the address.
            return DeliveryResult.Failed($"SMTP {code} {What(ex.ErrorCode)}", channelDown: code is < 500);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Drop();
            return DeliveryResult.Failed("SMTP " + Describe(ex), channelDown: true);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_client is { IsConnected: true } client)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(_timeout);
                    await client.DisconnectAsync(quit: true, timeout.Token);
                }
                catch (Exception ex)
                {
                    LogDisconnectFailed(_logger, ex);
                }
            }

            _client?.Dispose();
            _client = null;
        }
        finally
        {
            _gate.Release();
        }

        _gate.Dispose();
    }

    private async Task SendOnceAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var client = await ConnectedAsync(cancellationToken);
        await client.SendAsync(message, cancellationToken);
    }

    private async Task<SmtpClient> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client is { IsConnected: true } connected) return connected;
        Drop();
        var client = new SmtpClient { Timeout = (int)Math.Min(int.MaxValue, _timeout.TotalMilliseconds), ServerCertificateValidationCallback = Validate };
        _certificateProblem = null;
        try
        {
            var security = _target.Security switch
            {
                SmtpSecurity.None => SecureSocketOptions.None,
                SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.StartTls,
            };
            await client.ConnectAsync(_target.Host, _target.Port, security, cancellationToken);
            if (_target.UserName is not null) await client.AuthenticateAsync(_target.UserName, _target.Password ?? "", cancellationToken);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        _client = client;
        LogConnected(_logger, _target.Host, _target.Port);
        return client;
    }

    /// <summary>
    /// The system's trust, and with <see cref="SmtpTarget.TrustedCaFile"/> also the city's own CA; the name on the
    /// certificate must match the host either way. Why a certificate was refused is kept for the row's error.
    /// </summary>
    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            _certificateProblem = "the server sent no certificate";
            return false;
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            _certificateProblem = $"the server's certificate does not name {_target.Host}";
            return false;
        }

        if (_trustedRoots is not null)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_trustedRoots);
            // A private CA seldom publishes revocation lists the server could reach.
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null) custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
            using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            if (custom.Build(leaf)) return true;
        }

        _certificateProblem = _trustedRoots is null
            ? "the server's certificate is not trusted (a city's own CA: --smtp-ca)"
            : "the server's certificate is not signed by the CA of --smtp-ca";
        return false;
    }

    private void Drop()
    {
        _client?.Dispose();
        _client = null;
    }

    private static string What(SmtpErrorCode type) => type switch
    {
        SmtpErrorCode.RecipientNotAccepted => "recipient refused",
        SmtpErrorCode.SenderNotAccepted => "sender refused",
        SmtpErrorCode.MessageNotAccepted => "message refused",
        _ => "refused",
    };

    private string Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket) return socket.SocketErrorCode.ToString();
            if (e is MailKit.Security.AuthenticationException) return "login refused";
            if (e is SslHandshakeException or System.Security.Authentication.AuthenticationException) return "TLS handshake failed" + (_certificateProblem is { } why ? ": " + why : "");
            if (e is NotSupportedException) return "server lacks STARTTLS or the login mechanism";
            if (e is SmtpProtocolException or IOException or ServiceNotConnectedException) return "connection lost";
        }

        return ex.GetType().Name;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox connected to the mail server {Host}:{Port}")]
    private static partial void LogConnected(ILogger logger, string host, int port);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Outbox could not leave the mail server cleanly")]
    private static partial void LogDisconnectFailed(ILogger logger, Exception error);
}
