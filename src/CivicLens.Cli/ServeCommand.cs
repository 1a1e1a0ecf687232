using System.CommandLine;
using CivicLens.Domain;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens serve</c>: the operations server (store, API, live feed) with the configured cameras' pipelines,
/// on SQLite in the data folder unless a PostgreSQL connection is given. And <c>civiclens audit verify</c>.
/// </summary>
internal static class ServeCommand
{
    public const string AdminPasswordVariable = "CIVICLENS_ADMIN_PASSWORD";
    public const string PostgresVariable = "CIVICLENS_POSTGRES";
    public const string WebhookSecretPrefix = "CIVICLENS_WEBHOOK_SECRET_";
    public const string MqttUserVariable = "CIVICLENS_MQTT_USER";
    public const string MqttPasswordVariable = "CIVICLENS_MQTT_PASSWORD";
    public const string OidcSecretVariable = "CIVICLENS_OIDC_CLIENT_SECRET";
    public const string SmtpPasswordVariable = "CIVICLENS_SMTP_PASSWORD";

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "District file (YAML): areas, departments, sites, routing; cameras the registry lacks are created from it" };
        var data = DataOption();
        var shared = new Option<string?>("--shared")
        {
            Description = "Folder every hub of a cluster mounts (snapshots, report photos, sealed originals); default: the data folder",
        };
        var urls = new Option<string[]>("--urls")
        {
            Description = "Where to listen (default http://127.0.0.1:8080); anything beyond loopback must be https with --certificate",
            DefaultValueFactory = _ => ["http://127.0.0.1:8080"],
            AllowMultipleArgumentsPerToken = true,
        };
        var certificate = new Option<string?>("--certificate") { Description = "PFX certificate for https addresses" };
        var certificatePassword = new Option<string?>("--certificate-password-file") { Description = "File holding the certificate's password" };
        var postgres = PostgresOption();
        var adminPassword = new Option<string?>("--admin-password-file")
        {
            Description = $"First start only: file holding the admin password (or set {AdminPasswordVariable}; asked for on a terminal)",
        };
        var models = CommonOptions.ModelsDirectory();
        var fps = new Option<double?>("--fps") { Description = "Frames per second each camera analyses (default: every frame)" };
        var noPipelines = new Option<bool>("--no-pipelines") { Description = "Serve only; analysis nodes post events with an API key" };
        var sealingKey = new Option<string?>("--sealing-key")
        {
            Description = "Keep each event's unredacted frame sealed (AES-GCM) with this key file (civiclens keys create); off by default",
        };
        var sealWindow = new Option<double>("--seal-hours") { Description = "Hours a sealed original is kept before it is destroyed", DefaultValueFactory = _ => 72 };
        var eventDays = new Option<int>("--event-retention-days") { Description = "Days events outside any case are kept", DefaultValueFactory = _ => 365 };
        var caseDays = new Option<int>("--case-retention-days") { Description = "Days closed cases (with their events) are kept", DefaultValueFactory = _ => 730 };
        var retention = new Option<string[]>("--retention")
        {
            Description = "Another kind's retention, KIND=DAYS (repeatable): reports (after the case closed, 90), unlinked-reports (90), "
                + "contacts (reports without a case, 30), contact-notice (7), audit (2192); see docs/privacy.md",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var verbose = CommonOptions.Verbose();
        var webhooks = new Option<string[]>("--webhook")
        {
            Description = $"Deliver every event to NAME=URL (repeatable; https, or http to loopback), signed with the secret in {WebhookSecretPrefix}NAME",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var mqtt = new Option<string?>("--mqtt")
        {
            Description = $"Publish every event to the MQTT broker at HOST:PORT (QoS 1; credentials from {MqttUserVariable} / {MqttPasswordVariable})",
        };
        var mqttTopic = new Option<string?>("--mqtt-topic") { Description = "Topic prefix for --mqtt (default civiclens/events); the event kind follows it" };
        var smtp = new Option<string?>("--smtp") { Description = "The mail server (HOST:PORT) departments' email deliveries go through" };
        var smtpFrom = new Option<string?>("--smtp-from") { Description = "The sender address of departments' emails (required with --smtp)" };
        var smtpSecurity = new Option<string?>("--smtp-security") { Description = "starttls (default), tls (port 465), or none (a loopback relay only)" };
        var smtpUser = new Option<string?>("--smtp-user") { Description = $"Log in to the mail server as this user (the password from {SmtpPasswordVariable})" };
        var smtpCa = new Option<string?>("--smtp-ca")
        {
            Description = "A PEM file with the CA that signed the mail server's certificate (a city's own CA), trusted for it as well as the system's",
        };
        var oidcAuthority = new Option<string?>("--oidc-authority")
        {
            Description = "Let staff log in through this OpenID Connect provider (issuer URL, https); off unless given. Local accounts keep working",
        };
        var oidcClient = new Option<string?>("--oidc-client-id") { Description = $"The client id registered at the provider (its secret from {OidcSecretVariable} or --oidc-client-secret-file)" };
        var oidcSecretFile = new Option<string?>("--oidc-client-secret-file") { Description = "File holding the OpenID Connect client secret" };
        var oidcRoleMap = new Option<string?>("--oidc-role-map")
        {
            Description = "Provider role or group to CivicLens role: \"city-admins=admin,cctv-desk=operator\"; users matching none are refused",
        };
        var oidcRoleClaim = new Option<string?>("--oidc-role-claim") { Description = "The id_token claim holding roles or groups (default roles)" };
        var oidcAreaClaim = new Option<string?>("--oidc-area-claim") { Description = "The id_token claim listing the area ids a user is scoped to" };
        var oidcScopes = new Option<string?>("--oidc-scopes") { Description = "Scopes to ask for, space separated (default \"openid profile\")" };
        var publicUrl = new Option<Uri?>("--public-url")
        {
            Description = "The address the public reaches this server at (https://...), for the links printed on camera signs (default: each request's own)",
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "https" or "http" && string.IsNullOrEmpty(u.Query)) return u;
                r.AddError($"--public-url must be an absolute http(s) address without a query, not '{text}'.");
                return null;
            },
        };
        var trustedProxies = new Option<System.Net.IPNetwork[]>("--trusted-proxy")
        {
            Description = "A reverse proxy (address or network, e.g. 10.0.0.5 or 10.0.0.0/24) whose X-Forwarded-For is believed; repeat for several (none by default)",
            CustomParser = r =>
            {
                var list = new List<System.Net.IPNetwork>();
                foreach (var token in r.Tokens)
                {
                    if (TrustedProxy(token.Value) is { } network) list.Add(network);
                    else r.AddError($"--trusted-proxy must be an IP address or a network in CIDR form, not '{token.Value}'.");
                }

                return [.. list];
            },
        };
        var tiles = new Option<string?>("--tiles")
        {
            Description = "Base map tiles for the console: an http(s) URL template with {z}, {x} and {y} (none by default: areas, sites and cameras on a plain background)",
            CustomParser = r =>
            {
                var text = r.Tokens.Single().Value;
                if (ServerOptions.IsTileTemplate(text)) return text;
                r.AddError($"--tiles must be an absolute http(s) URL template with {{z}}, {{x}} and {{y}}, not '{text}'.");
                return null;
            },
        };
        var provider = new Option<CivicLens.Inference.Detectors.ExecutionProviderKind>("--provider") { Description = "cpu, or cuda when ONNX Runtime's GPU package is installed (falls back to cpu, logged)" };
        var detectorPath = new Option<string?>("--detector") { Description = "Another ONNX detector for the cameras (NanoDet layout; labels in PATH.json), e.g. a PPE model" };
        var serve = new Command("serve", "Run the operations server and the registry's enabled cameras")
        {
            provider, detectorPath, config, data, urls, certificate, certificatePassword, publicUrl, postgres, adminPassword, models, fps, noPipelines, verbose, webhooks, mqtt, mqttTopic,
            smtp, smtpFrom, smtpSecurity, smtpUser, smtpCa, sealingKey, sealWindow, eventDays, caseDays, retention, oidcAuthority, oidcClient, oidcSecretFile, oidcRoleMap, oidcRoleClaim, oidcAreaClaim, oidcScopes, tiles,
            trustedProxies, shared,
        };
        var cluster = new ClusterFlags();
        serve.Options.Add(cluster.Cluster);
        foreach (var o in cluster.All) serve.Options.Add(o);
        serve.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var password = Environment.GetEnvironmentVariable(AdminPasswordVariable);
            if (parse.GetValue(adminPassword) is { } file) password = (await File.ReadAllTextAsync(file, ct)).TrimEnd('\r', '\n');
            var options = new ServerOptions
            {
                DataDirectory = parse.GetValue(data)!,
                SharedDirectory = parse.GetValue(shared),
                Storage = Storage(parse.GetValue(postgres)),
                Urls = parse.GetValue(urls)!,
                CertificatePath = parse.GetValue(certificate),
                PublicUrl = parse.GetValue(publicUrl),
                TileUrlTemplate = parse.GetValue(tiles),
                TrustedProxies = parse.GetValue(trustedProxies) ?? [],
                CertificatePassword = parse.GetValue(certificatePassword) is { } cp ? (await File.ReadAllTextAsync(cp, ct)).Trim() : null,
                ConfigPath = parse.GetValue(config),
                ModelsDirectory = parse.GetValue(models),
                DetectorPath = parse.GetValue(detectorPath),
                ExecutionProvider = parse.GetValue(provider),
                SampleFps = parse.GetValue(fps),
                RunPipelines = !parse.GetValue(noPipelines),
                AdminPassword = password,
                SealedOriginals = parse.GetValue(sealingKey) is { } key
                    ? new CivicLens.Pipeline.SealedOriginalsSettings(Path.Combine(parse.GetValue(shared) ?? parse.GetValue(data)!, "sealed"), key, TimeSpan.FromHours(parse.GetValue(sealWindow)))
                    : null,
                EventRetention = TimeSpan.FromDays(Math.Max(1, parse.GetValue(eventDays))),
                ClosedCaseRetention = TimeSpan.FromDays(Math.Max(1, parse.GetValue(caseDays))),
                Retention = CivicLens.Server.Retention.RetentionSettings.Parse(parse.GetValue(retention) ?? []),
                Webhooks = Webhooks(parse.GetValue(webhooks) ?? []),
                Mqtt = Mqtt(parse.GetValue(mqtt), parse.GetValue(mqttTopic)),
                Smtp = Smtp(parse.GetValue(smtp), parse.GetValue(smtpFrom), parse.GetValue(smtpSecurity), parse.GetValue(smtpUser), Environment.GetEnvironmentVariable(SmtpPasswordVariable),
                    parse.GetValue(smtpCa)),
                Oidc = Oidc(parse.GetValue(oidcAuthority), parse.GetValue(oidcClient), parse.GetValue(oidcRoleMap), parse.GetValue(oidcRoleClaim), parse.GetValue(oidcAreaClaim),
                    parse.GetValue(oidcScopes), parse.GetValue(oidcSecretFile) is { } sf ? (await File.ReadAllTextAsync(sf, ct)).Trim() : Environment.GetEnvironmentVariable(OidcSecretVariable)),
            };
            // Delivery targets are refused before anything is written.
            OutboxSetup.Check(options);
            var level = parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information;
            Action<WebApplicationBuilder> compose = b => Logging.Configure(b.Logging, level);
            if (parse.GetValue(cluster.Cluster))
            {
                // A hub: the same server, analysing nothing itself; the registry's cameras run on the cluster's nodes.
                var settings = cluster.Settings(parse, CivicLens.Cluster.ClusterRoles.Hub, options.Storage?.ConnectionString, 0);
                options = await CivicLens.Cluster.Hosting.ClusterSetup.PrepareHubAsync(options, settings, ct);
                compose = b =>
                {
                    Logging.Configure(b.Logging, level);
                    CivicLens.Cluster.Hosting.ClusterSetup.AddHub(b, settings);
                };
            }

            WebApplication app;
            try
            {
                app = await ServerHost.BuildAsync(options, compose, ct);
            }
            catch (StartupException ex) when (ex.Message.StartsWith("First start", StringComparison.Ordinal) && !Console.IsInputRedirected)
            {
                // On a terminal the first admin password is asked for (twice), never echoed.
                await Console.Error.WriteLineAsync(ex.Message);
                var typed = ReadSecret("admin password: ");
                if (typed != ReadSecret("again: ")) throw new StartupException("The two passwords differ.");
                app = await ServerHost.BuildAsync(options with { AdminPassword = typed }, compose, ct);
            }

            if (parse.GetValue(cluster.Cluster)) CivicLens.Cluster.Hub.ClusterEndpoints.MapCluster(app);
            await using (app)
            {
                await app.StartAsync(ct);
                foreach (var url in app.Urls) await Console.Out.WriteLineAsync($"CivicLens is serving on {url} (log in as admin; to watch events, create an operator account under Accounts and log in with it)");
                await app.WaitForShutdownAsync(ct);
            }

            return 0;
        }));

        return serve;
    }

    public static Command CreateAudit()
    {
        var data = DataOption();
        var postgres = PostgresOption();
        var verify = new Command("verify", "Check the audit log's hash chain: exit 0 when intact, 3 when a record was changed or removed") { data, postgres };
        verify.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var dataDir = parse.GetValue(data)!;
            var storage = Storage(parse.GetValue(postgres)) ?? StorageOptions.SqliteFile(Path.Combine(dataDir, "civiclens.db"));
            if (storage.Provider == StorageProvider.Sqlite && !File.Exists(Path.Combine(dataDir, "civiclens.db")))
            {
                throw new IOException($"No database in {dataDir} (give --data, or --postgres).");
            }

            var log = new AuditLog(storage, TimeProvider.System, Path.Combine(dataDir, "audit.anchor"));
            var result = await log.VerifyAsync(ct);
            if (result.Intact)
            {
                await Console.Out.WriteLineAsync($"audit log intact: {result.RecordsVerified} records verified");
                return 0;
            }

            await Console.Out.WriteLineAsync($"audit log BROKEN at record {result.BrokenAt}: {result.Problem} ({result.RecordsVerified} records before it verified)");
            return 3;
        }));
        return new Command("audit", "The audit log") { verify };
    }

    internal static Option<string> DataOption() => new("--data")
    {
        Description = "Server data folder: SQLite database, snapshots, keys (default: $CIVICLENS_HOME/server)",
        DefaultValueFactory = _ => Path.Combine(CivicLensHome.Resolve().Root, "server"),
    };

    internal static Option<string?> PostgresOption() => new("--postgres")
    {
        Description = $"Use PostgreSQL 15+ with this Npgsql connection string (or set {PostgresVariable}; prefer the variable, it stays out of ps)",
    };

    internal static StorageOptions? Storage(string? postgres)
    {
        postgres ??= Environment.GetEnvironmentVariable(PostgresVariable);
        return string.IsNullOrWhiteSpace(postgres) ? null : new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = postgres };
    }

    /// <summary>
    /// <c>NAME=URL</c> pairs; each secret comes from <c>CIVICLENS_WEBHOOK_SECRET_NAME</c> (upper case, '-' as '_'), never
    /// from the command line (it would show in ps).
    /// </summary>
    internal static IReadOnlyList<WebhookTarget> Webhooks(IEnumerable<string> specs)
    {
        var targets = new List<WebhookTarget>();
        foreach (var spec in specs)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !Uri.TryCreate(spec[(eq + 1)..], UriKind.Absolute, out var url))
            {
                // The value is not echoed: a URL may carry a token.
                throw new StartupException("--webhook wants NAME=URL with an absolute URL (e.g. works=https://works.example/civiclens).");
            }

            var name = spec[..eq];
            var variable = WebhookSecretPrefix + name.ToUpperInvariant().Replace('-', '_');
            var secret = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(secret)) throw new StartupException($"Webhook '{name}' has no secret: set {variable} (at least {OutboxSetup.MinSecretLength} characters).");
            if (secret.Length < OutboxSetup.MinSecretLength) throw new StartupException($"{variable} is shorter than {OutboxSetup.MinSecretLength} characters.");
            targets.Add(new WebhookTarget(name, url, secret));
        }

        return targets;
    }

    /// <summary>The OpenID Connect settings from the <c>--oidc-*</c> options; null when no authority is given.</summary>
    internal static OidcSettings? Oidc(string? authority, string? clientId, string? roleMap, string? roleClaim, string? areaClaim, string? scopes, string? secret)
    {
        if (authority is null)
        {
            return clientId is null && roleMap is null && roleClaim is null && areaClaim is null && scopes is null ? null
                : throw new StartupException("The --oidc-* options need --oidc-authority URL.");
        }

        if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri)) throw new StartupException("--oidc-authority wants an absolute URL (e.g. https://login.city.example/realms/staff).");
        if (string.IsNullOrWhiteSpace(clientId)) throw new StartupException("--oidc-authority needs --oidc-client-id.");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (roleMap ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.LastIndexOf('=');
            if (eq <= 0 || eq == pair.Length - 1) throw new StartupException($"--oidc-role-map wants GROUP=ROLE pairs separated by commas; '{pair}' is not one.");
            map[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }

        return new OidcSettings
        {
            Authority = uri,
            ClientId = clientId,
            ClientSecret = string.IsNullOrEmpty(secret) ? null : secret,
            RoleMap = map,
            RoleClaim = string.IsNullOrWhiteSpace(roleClaim) ? "roles" : roleClaim,
            AreaClaim = string.IsNullOrWhiteSpace(areaClaim) ? null : areaClaim,
            Scopes = string.IsNullOrWhiteSpace(scopes) ? ["openid", "profile"] : scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        };
    }

    /// <summary><c>HOST:PORT</c> (or <c>[IPv6]:PORT</c>); the credentials come from the environment.</summary>
    internal static MqttTarget? Mqtt(string? hostPort, string? topic)
    {
        if (hostPort is null)
        {
            return topic is null ? null : throw new StartupException("--mqtt-topic needs --mqtt HOST:PORT.");
        }

        var (host, port) = HostPort(hostPort, "--mqtt", "127.0.0.1:1883");
        var user = Environment.GetEnvironmentVariable(MqttUserVariable);
        var password = Environment.GetEnvironmentVariable(MqttPasswordVariable);
        if (string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(password)) throw new StartupException($"{MqttPasswordVariable} is set but {MqttUserVariable} is not.");
        var target = new MqttTarget(host, port, UserName: string.IsNullOrEmpty(user) ? null : user, Password: string.IsNullOrEmpty(password) ? null : password);
        return topic is null ? target : target with { TopicPrefix = topic };
    }

    /// <summary>An address (one host) or a CIDR network; null when it is neither.</summary>
    internal static System.Net.IPNetwork? TrustedProxy(string text)
    {
        if (System.Net.IPNetwork.TryParse(text, out var network)) return network;
        if (System.Net.IPAddress.TryParse(text, out var address))
        {
            return new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        }

        return null;
    }

    /// <summary>
    /// <c>--smtp HOST:PORT</c> (or <c>[IPv6]:PORT</c>) with its sender, security and user; the password comes from
    /// the environment (never the command line, where ps shows it).
    /// </summary>
    internal static SmtpTarget? Smtp(string? hostPort, string? from, string? security, string? user, string? password, string? ca = null)
    {
        if (hostPort is null)
        {
            return from is null && security is null && user is null && ca is null ? null : throw new StartupException("The --smtp-* options need --smtp HOST:PORT.");
        }

        var (host, port) = HostPort(hostPort, "--smtp", "smtp.city.example:587");
        if (string.IsNullOrWhiteSpace(from)) throw new StartupException("--smtp needs --smtp-from ADDRESS, the sender of departments' emails.");
        var mode = security?.Trim().ToLowerInvariant() switch
        {
            null or "starttls" => SmtpSecurity.StartTls,
            "tls" => SmtpSecurity.Tls,
            "none" => SmtpSecurity.None,
            _ => throw new StartupException($"--smtp-security wants starttls, tls or none, not '{security}'."),
        };
        if (string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(password)) throw new StartupException($"{SmtpPasswordVariable} is set but --smtp-user is not.");
        if (!string.IsNullOrEmpty(user) && string.IsNullOrEmpty(password)) throw new StartupException($"--smtp-user needs the password in {SmtpPasswordVariable}.");
        if (ca is not null)
        {
            if (mode == SmtpSecurity.None) throw new StartupException("--smtp-ca needs TLS: --smtp-security starttls or tls.");
            ca = Path.GetFullPath(ca);
            try
            {
                _ = SmtpSender.LoadRoots(ca);
            }
            catch (InvalidOperationException ex)
            {
                throw new StartupException(ex.Message + " (--smtp-ca)");
            }
        }

        return new SmtpTarget(host, port, from.Trim(), mode, string.IsNullOrEmpty(user) ? null : user, string.IsNullOrEmpty(password) ? null : password, ca);
    }

    /// <summary><c>HOST:PORT</c> or <c>[IPv6]:PORT</c> split, or a start-up error naming the option and an example.</summary>
    private static (string Host, int Port) HostPort(string hostPort, string option, string example)
    {
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535)
        {
            throw new StartupException($"{option} wants HOST:PORT (e.g. {example}), not '{hostPort}'.");
        }

        return (hostPort[..colon].Trim('[', ']'), port);
    }

    private static string ReadSecret(string prompt)
    {
        Console.Error.Write(prompt);
        var chars = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (chars.Length > 0) chars.Length--;
                continue;
            }

            chars.Append(key.KeyChar);
        }

        Console.Error.WriteLine();
        return chars.ToString();
    }
}
