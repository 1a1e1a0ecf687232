using System.Net;
using CivicLens.Server.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Outbox;

public static class OutboxSetup
{
    /// <summary>Shortest webhook secret accepted (characters).</summary>
    public const int MinSecretLength = 16;

    /// <summary>Registers the outbox dispatcher (webhooks, MQTT).</summary>
    public static void AddOutbox(this WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Check(options);
        var s = builder.Services;
        s.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section, o => o.ErrorOnUnknownConfiguration = true).ValidateOnStart();
        s.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        s.TryAddSingleton<OutboxStatus>();

        if (options.Webhooks.Count > 0)
        {
            // Our own log lines name the target; the factory's default ones would log its URL (which may carry a token).
            s.AddHttpClient(WebhookChannel.HttpClientName, (sp, c) =>
                {
                    c.Timeout = sp.GetRequiredService<IOptions<OutboxOptions>>().Value.DeliveryTimeout;
                    c.DefaultRequestHeaders.UserAgent.ParseAdd("CivicLens-Outbox/1");
                })
                .ConfigurePrimaryHttpMessageHandler(WebhookChannel.Handler)
                .RemoveAllLoggers();
        }

        foreach (var webhook in options.Webhooks)
        {
            s.AddSingleton<IOutboxChannel>(sp => new WebhookChannel(webhook, sp.GetRequiredService<IHttpClientFactory>(), sp.GetRequiredService<TimeProvider>()));
        }

        if (options.Mqtt is { } mqtt)
        {
            s.AddSingleton<IOutboxChannel>(sp => new MqttChannel(mqtt, sp.GetRequiredService<IOptions<OutboxOptions>>().Value.DeliveryTimeout,
                sp.GetRequiredService<ILogger<MqttChannel>>()));
        }

        s.AddHostedService<OutboxDispatcher>();
    }

    /// <summary>
    /// Refuses delivery targets that would leak events or be forged: webhook names that are not ids, duplicate
    /// names, URLs other than https (or http to loopback), URLs with credentials in them, short secrets, and a
    /// broker without a host or port.
    /// </summary>
    public static void Check(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var w in options.Webhooks)
        {
            if (string.IsNullOrEmpty(w.Name) || w.Name.Length > 64 || !w.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new StartupException($"Webhook name '{w.Name}' must be 1-64 letters, digits, '-' or '_'.");
            }

            if (!names.Add(w.Name)) throw new StartupException($"Webhook '{w.Name}' is given twice.");
            if (w.Url is not { IsAbsoluteUri: true } url || url.Scheme is not ("https" or "http"))
            {
                throw new StartupException($"Webhook '{w.Name}' needs an absolute https:// URL.");
            }

            if (url.Scheme == "http" && !IsLoopback(url.Host))
            {
                throw new StartupException($"Webhook '{w.Name}' must use https (plain http is allowed to loopback only): events are personal-adjacent data.");
            }

            if (url.UserInfo.Length > 0) throw new StartupException($"Webhook '{w.Name}' has credentials in its URL; the signature authenticates the server instead.");
            if (string.IsNullOrEmpty(w.Secret) || w.Secret.Length < MinSecretLength)
            {
                throw new StartupException($"Webhook '{w.Name}' needs a secret of at least {MinSecretLength} characters.");
            }
        }

        if (options.Mqtt is { } m && (string.IsNullOrWhiteSpace(m.Host) || m.Port is < 1 or > 65535))
        {
            throw new StartupException("The MQTT broker needs a host and a port between 1 and 65535.");
        }

        if (options.Mqtt is { } t && (string.IsNullOrWhiteSpace(t.TopicPrefix) || t.TopicPrefix.IndexOfAny(['#', '+']) >= 0))
        {
            throw new StartupException("The MQTT topic prefix must not be empty nor hold the wildcards '#' or '+'.");
        }
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
