using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using CivicLens.Server.Hosting;
using CivicLens.Storage.Entities;

namespace CivicLens.Server.Outbox;

/// <summary>
/// POSTs each message's JSON to a webhook target, signed so the receiver can check who sent it and when:
/// <c>X-CivicLens-Signature: sha256=HEX(HMAC-SHA256(secret, "TIMESTAMP.BODY"))</c> with the unix seconds of
/// <c>X-CivicLens-Timestamp</c>. Any 2xx answer is a delivery; redirects are not followed (a 3xx is a failure).
/// </summary>
public sealed class WebhookChannel : IOutboxChannel
{
    public const string EventIdHeader = "X-CivicLens-Event-Id";
    public const string TimestampHeader = "X-CivicLens-Timestamp";
    public const string SignatureHeader = "X-CivicLens-Signature";

    private readonly WebhookTarget _target;
    private readonly byte[] _key;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;

    public WebhookChannel(WebhookTarget target, IHttpClientFactory http, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _key = Encoding.UTF8.GetBytes(target.Secret);
        _http = http;
        _time = time;
        Name = ChannelName(target.Name);
    }

    public string Name { get; }

    public static string ChannelName(string webhookName) => "webhook:" + webhookName;

    /// <summary>The signature header's value for a body sent at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(byte[] key, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        var prefix = Encoding.UTF8.GetBytes(timestamp + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, signed));
    }

    public async Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var body = Encoding.UTF8.GetBytes(message.Payload);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, _target.Url);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(EventIdHeader, message.EventId.ToString("D"));
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(_key, timestamp, body));
        try
        {
            // The client's timeout (DeliveryTimeout) covers connect, send and the answer's headers.
            using var client = _http.CreateClient(HttpDelivery.ClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return DeliveryResult.Success;
            var channelDown = HttpDelivery.ChannelDown(status);
            return DeliveryResult.Failed($"HTTP {status}", channelDown);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return HttpDelivery.Failure(ex);
        }
    }

    /// <summary>The handler of the outbox's HTTP client (webhooks, Open311 forwarding): no redirects, no cookies, no decompression.</summary>
    internal static SocketsHttpHandler Handler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };
}
