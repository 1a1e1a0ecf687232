using CivicLens.Server.Outbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Server.Tests;

/// <summary>Short polls and backoffs so an outbox's retries happen within a test's time.</summary>
internal static class FastOutbox
{
    public static void Configure(WebApplicationBuilder builder, TimeSpan deliveryTimeout) => builder.Services.Configure<OutboxOptions>(o =>
    {
        o.PollInterval = TimeSpan.FromMilliseconds(50);
        o.InitialBackoff = TimeSpan.FromMilliseconds(50);
        o.MaxBackoff = TimeSpan.FromMilliseconds(200);
        o.DeliveryTimeout = deliveryTimeout;
    });
}
