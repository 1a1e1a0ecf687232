namespace CivicLens.Server.Outbox;

/// <summary>How an HTTP channel's answer or failure becomes a <see cref="DeliveryResult"/> (webhooks, Open311 forwarding).</summary>
internal static class HttpDelivery
{
    /// <summary>The one HTTP client of the outbox's HTTP channels (registered by <see cref="OutboxSetup"/>).</summary>
    public const string ClientName = "civiclens-outbox";

    /// <summary>408, 429 and 5xx say "not now" about the receiver as a whole; another 4xx is about this message.</summary>
    public static bool ChannelDown(int status) => status is 408 or 429 or >= 500;

    /// <summary>
    /// A transport failure (the caller's own cancellation excluded) as a short result that holds the channel: a
    /// timeout, the kind of an HTTP error, or the exception's type; never its message, which may quote the URL
    /// and a token in it.
    /// </summary>
    public static DeliveryResult Failure(Exception ex) => ex switch
    {
        OperationCanceledException => DeliveryResult.Failed("timed out", channelDown: true),
        HttpRequestException h => DeliveryResult.Failed($"HTTP {(h.HttpRequestError == HttpRequestError.Unknown ? "request failed" : h.HttpRequestError.ToString())}", channelDown: true),
        _ => DeliveryResult.Failed(ex.GetType().Name, channelDown: true),
    };
}
