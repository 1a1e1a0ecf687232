using CivicLens.Storage.Entities;

namespace CivicLens.Server.Outbox;

/// <summary>One delivery channel of the outbox (a webhook target, the MQTT broker), named as its rows' <c>channel</c>.</summary>
public interface IOutboxChannel
{
    /// <summary><c>webhook:NAME</c> or <c>mqtt</c>.</summary>
    string Name { get; }

    /// <summary>Delivers one message; never throws for a delivery failure (only when <paramref name="cancellationToken"/> fires).</summary>
    Task<DeliveryResult> DeliverAsync(OutboxMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// What became of one delivery. <see cref="ChannelDown"/>: the channel as a whole failed (unreachable, timeout, 5xx),
/// so its other messages of the round are not tried; otherwise the failure is this message's alone (e.g. a 4xx).
/// <see cref="Error"/> is short and safe to store and log: never a secret, a password or a URL.
/// </summary>
public sealed record DeliveryResult(bool Delivered, string? Error = null, bool ChannelDown = false)
{
    public static readonly DeliveryResult Success = new(true);

    public static DeliveryResult Failed(string error, bool channelDown) => new(false, Truncate(error), channelDown);

    private static string Truncate(string error) => error.Length <= 200 ? error : error[..200];
}
