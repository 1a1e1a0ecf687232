using System.Net;
using CivicLens.Server.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Outbox;

public static class OutboxSetup
{
    /// <summary>Shortest webhook secret accepted (characters).</summary>
    public const int MinSecretLength = 16;

    /// <summary>Registers the outbox dispatcher (webhooks, MQTT, departments' email and Open311 forwarding).</summary>
    public static void AddOutbox(this WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        Check(options);
        var s = builder.Services;
        s.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section, o => o.ErrorOnUnknownConfiguration = true).ValidateOnStart();
        s.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        s.TryAddSingleton<OutboxStatus>();

        if (options.Webhooks.Count > 0 || options.DepartmentDeliveries.Any(d => d.Kind == DeliveryKinds.Open311))
        {
            // Our own log lines name the target; the factory's default ones would log its URL (which may carry a token).
            // Only Open311 forwarding reads an answer's body (webhooks stop at the headers): 64 KB of it at most.
            s.AddHttpClient(HttpDelivery.ClientName, (sp, c) =>
                {
                    c.Timeout = sp.GetRequiredService<IOptions<OutboxOptions>>().Value.DeliveryTimeout;
                    c.MaxResponseContentBufferSize = 64 * 1024;
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

        s.AddDepartmentChannels(options);
        s.AddHostedService<OutboxDispatcher>();
    }

    /// <summary>One email channel per department with an email delivery (one SMTP connection for all), one Open311 channel per forwarding department.</summary>
    private static void AddDepartmentChannels(this IServiceCollection s, ServerOptions options)
    {
        // Without a mail server no email channel runs: the departments' notices stay queued until one is configured.
        if (options.Smtp is { } smtp)
        {
            s.TryAddSingleton(sp => new SmtpSender(smtp, sp.GetRequiredService<IOptions<OutboxOptions>>().Value.DeliveryTimeout, sp.GetRequiredService<ILogger<SmtpSender>>()));
            foreach (var email in options.DepartmentDeliveries.Where(d => d.Kind == DeliveryKinds.Email).GroupBy(d => d.Department, StringComparer.Ordinal))
            {
                var to = email.Select(d => MimeKit.MailboxAddress.Parse(d.Target)).DistinctBy(a => a.Address, StringComparer.OrdinalIgnoreCase).ToList();
                s.AddSingleton<IOutboxChannel>(sp => new EmailChannel(email.Key, to, sp.GetRequiredService<SmtpSender>(), sp.GetRequiredService<TimeProvider>()));
            }

            // Reporters who asked for the outcome of their report (the address is unsealed at send time only).
            s.AddSingleton<IOutboxChannel>(sp => new ReporterEmailChannel(sp.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<Storage.CivicLensDb>>(),
                sp.GetRequiredService<Storage.Secrets.SecretBox>(), sp.GetRequiredService<SmtpSender>(), options, sp.GetRequiredService<TimeProvider>()));
        }

        Open311.Open311Forwarding.AddOpen311Forwarding(s, options);
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

        CheckDepartments(options);
    }

    /// <summary>
    /// Refuses a mail server that would send cases in the clear beyond this machine or that lacks a sender, and
    /// department deliveries that cannot work: an email with a bad address, an Open311
    /// target that is not https (or http to loopback) or whose api key variable is unset, a webhook no
    /// <c>--webhook</c> names, an unknown kind.
    /// </summary>
    public static void CheckDepartments(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Smtp is { } smtp)
        {
            if (string.IsNullOrWhiteSpace(smtp.Host) || smtp.Port is < 1 or > 65535) throw new StartupException("The mail server needs a host and a port between 1 and 65535 (--smtp HOST:PORT).");
            if (!IsMailbox(smtp.From)) throw new StartupException($"The sender address '{smtp.From}' is not an email address (--smtp-from).");
            if (!Enum.IsDefined(smtp.Security)) throw new StartupException("The mail server's security must be none, starttls or tls (--smtp-security).");
            if (smtp.Security == SmtpSecurity.None && !IsLoopback(smtp.Host))
            {
                throw new StartupException("--smtp-security none is allowed to a loopback relay only: cases would cross the network in the clear. Use starttls or tls.");
            }

            if (smtp.UserName is null != smtp.Password is null)
            {
                throw new StartupException("The mail server login needs both --smtp-user and the password in CIVICLENS_SMTP_PASSWORD, or neither.");
            }
        }

        var forwarded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in options.DepartmentDeliveries)
        {
            if (string.IsNullOrWhiteSpace(d.Department) || d.Department.Length > 64 || d.Department.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                throw new StartupException($"Department id '{d.Department}' must be 1-64 characters without spaces.");
            }

            switch (d.Kind)
            {
                case DeliveryKinds.Email:
                    // No mail server yet (a first start, the sample district): the notices wait in the outbox and
                    // go out once one is configured; the start logs a warning (ReportSetup) instead of refusing.
                    if (!IsMailbox(d.Target)) throw new StartupException($"Department '{d.Department}': '{d.Target}' is not an email address.");
                    break;
                case DeliveryKinds.Open311:
                    CheckOpen311(d);
                    if (!forwarded.Add(d.Department)) throw new StartupException($"Department '{d.Department}' forwards to Open311 twice; give it one target.");
                    break;
                case DeliveryKinds.Webhook:
                    if (!options.Webhooks.Any(w => string.Equals(w.Name, d.Target, StringComparison.Ordinal)))
                    {
                        throw new StartupException($"Department '{d.Department}' is told through webhook '{d.Target}', which no --webhook names.");
                    }

                    break;
                default:
                    throw new StartupException($"Department '{d.Department}' has a delivery of unknown kind '{d.Kind}' (email, open311 or webhook).");
            }
        }
    }

    private static void CheckOpen311(DepartmentDelivery d)
    {
        // The URL is not echoed: a misplaced token may sit in it.
        if (!Uri.TryCreate(d.Target, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            throw new StartupException($"Department '{d.Department}': the Open311 target needs an absolute https:// base URL.");
        }

        if (url.Scheme == "http" && !IsLoopback(url.Host))
        {
            throw new StartupException($"Department '{d.Department}': the Open311 target must use https (plain http is allowed to loopback only); the api key and the case would cross the network in the clear.");
        }

        if (url.UserInfo.Length > 0 || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            throw new StartupException($"Department '{d.Department}': the Open311 base URL must hold no credentials, query or fragment; the key comes from api_key_env.");
        }

        if (d.ServiceCode is { } code && (code.Length is 0 or > 100 || code.Any(char.IsControl)))
        {
            throw new StartupException($"Department '{d.Department}': the Open311 service code must be 1-100 characters.");
        }

        if (string.IsNullOrEmpty(d.ApiKeyEnv) || !d.ApiKeyEnv.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new StartupException($"Department '{d.Department}': the Open311 target needs api_key_env, the name of the environment variable holding its api key.");
        }

        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(d.ApiKeyEnv)))
        {
            throw new StartupException($"Department '{d.Department}': the environment variable {d.ApiKeyEnv} (its Open311 api key) is not set.");
        }
    }

    private static bool IsMailbox(string? text) =>
        !string.IsNullOrWhiteSpace(text) && MimeKit.MailboxAddress.TryParse(text, out var m)
        && m.Address.IndexOf('@', StringComparison.Ordinal) is > 0 && m.Domain.Length > 0 && !m.Address.Any(char.IsWhiteSpace);

    private static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary>The kinds of <see cref="DepartmentDelivery"/>.</summary>
public static class DeliveryKinds
{
    public const string Email = "email";
    public const string Open311 = "open311";
    public const string Webhook = "webhook";
}
