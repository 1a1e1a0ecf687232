using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using CivicLens.ConsoleWeb;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Audit;
using CivicLens.Server.Cameras;
using CivicLens.Server.Ingest;
using CivicLens.Server.Live;
using CivicLens.Server.Cases;
using CivicLens.Server.Open311;
using CivicLens.Server.Operations;
using CivicLens.Server.Outbox;
using CivicLens.Server.Reports;
using CivicLens.Server.Retention;
using CivicLens.Server.Reveal;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Transparency;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CivicLens.Server.Hosting;

/// <summary>
/// Builds the server: one process with the store, the API, the live feed and the camera pipelines. Reads as a
/// table of contents; each part registers itself below.
/// </summary>
public static class ServerHost
{
    public static async Task<WebApplication> BuildAsync(ServerOptions options, Action<WebApplicationBuilder>? configure = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        StartupGuard.CheckListeners(options);
        StartupGuard.CheckOidc(options);
        // The configuration is validated before anything is written (purpose before power included).
        var config = options.ConfigPath is null ? null : ConfigLoader.LoadFile(options.ConfigPath);
        // A district file whose cameras could not run (no purpose, a PPE rule without a PPE model) is refused now,
        // with every problem, rather than found by a camera failing over and over.
        if (config is not null) CivicLens.Pipeline.AnalysisRunner.CheckRunnable(config.Cameras, config, CameraCatalog.LabelsOf(options.DetectorPath, options.ModelsDirectory));

        if (options.DepartmentDeliveries.Count == 0)
        {
            // Departments say in the district file how they are told of their cases.
            options = options with
            {
                DepartmentDeliveries = (config?.Departments ?? []).SelectMany(d => d.Delivery.Select(x => new DepartmentDelivery(d.Id, x.Kind, x.Target, x.ServiceCode, x.ApiKeyEnv))).ToList(),
            };
        }

        Directory.CreateDirectory(options.DataDirectory);
        Directory.CreateDirectory(options.SnapshotDirectory);
        var storage = options.EffectiveStorage;
        await StorageSetup.MigrateAsync(storage, ct);
        if (config is null)
        {
            // No district file: the district the store holds (its registry keeps the cameras either way).
            await using var db = new CivicLensDb(StorageSetup.Options(storage));
            config = await DistrictSync.FromStoreAsync(db, ct);
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.AddListeners(options);
        builder.AddStore(options, storage, config);
        builder.AddAccounts(options);
        builder.AddApi(options);
        builder.AddIngest(options);
        builder.AddOutbox(options);
        builder.AddReports(options);
        builder.AddOperations(options);
        configure?.Invoke(builder);

        var app = builder.Build();
        await app.PrepareStoreAsync(options, config, ct);
        app.UseApi();
        return app;
    }

    private static void AddListeners(this WebApplicationBuilder builder, ServerOptions options)
    {
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            X509Certificate2? certificate = options.CertificatePath is null ? null : X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.CertificatePassword);
            foreach (var url in options.Urls)
            {
                var uri = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
                var address = uri.Host == "localhost" ? System.Net.IPAddress.Loopback : System.Net.IPAddress.Parse(uri.Host.Trim('[', ']'));
                k.Listen(address, uri.Port, l =>
                {
                    // HTTP/2 needs TLS (ALPN); plain loopback speaks HTTP/1.1.
                    l.Protocols = uri.Scheme == "https" ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
                    if (uri.Scheme == "https") l.UseHttps(certificate!);
                });
            }
        });
    }

    private static void AddStore(this WebApplicationBuilder builder, ServerOptions options, StorageOptions storage, CivicLensConfig config)
    {
        var s = builder.Services;
        s.TryAddSingleton(TimeProvider.System);
        // One process runs every job; a cluster's hub replaces this with its leadership (CivicLens.Cluster).
        s.TryAddSingleton<IJobDuty>(AlwaysOnDuty.Instance);
        s.AddSingleton(options);
        s.AddSingleton(config);
        s.AddSingleton(storage);
        s.AddPooledDbContextFactory<CivicLensDb>(o => ((DbContextOptionsBuilder<CivicLensDb>)o).Configure(storage));
        s.AddSingleton(_ => SecretBox.LoadOrCreate(options.SecretsKeyPath));
        s.AddSingleton(sp => new AuditLog(storage, sp.GetRequiredService<TimeProvider>(), options.AuditAnchorPath));
        s.AddSingleton(sp => new EventStore(storage, sp.GetRequiredService<TimeProvider>())
        {
            Channels = [.. options.Webhooks.Select(w => "webhook:" + w.Name), .. options.Mqtt is null ? Array.Empty<string>() : ["mqtt"]],
        });
        s.AddSingleton(new StoreHealth(storage));
        if (options.SealedOriginals is { } sealing)
        {
            // A missing or exposed key stops the start, before anything is sealed or revealed.
            var key = SealingKey.Load(sealing.KeyPath);
            s.AddSingleton(key);
            s.AddSingleton(sp => new SealedOriginalStore(new SealedOriginalOptions { Directory = sealing.Directory, Window = sealing.Window }, key,
                new ChainedRevealAudit(sp.GetRequiredService<AuditLog>()), sp.GetRequiredService<TimeProvider>()));
        }
    }

    private static void AddAccounts(this WebApplicationBuilder builder, ServerOptions options)
    {
        var s = builder.Services;
        s.AddSingleton<AccountService>();
        // Session cookies are encrypted with keys kept in the data folder (owner-only), so sessions survive a restart.
        var keys = Directory.CreateDirectory(Path.Combine(options.DataDirectory, "keys", "sessions"));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keys.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        s.AddDataProtection().SetApplicationName("CivicLens").PersistKeysToFileSystem(keys);
        s.AddHttpContextAccessor();
        s.AddScoped<Auditor>();
        s.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                var https = options.Urls.All(u => u.StartsWith("https:", StringComparison.Ordinal));
                // __Host- binds the cookie to this origin; it needs Secure, so plain-http loopback uses a plain name.
                o.Cookie.Name = https ? "__Host-civiclens" : "civiclens";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = https ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = options.SessionIdle;
                o.SlidingExpiration = true;
                // An API answers 401/403; it never redirects to a login page.
                o.Events.OnRedirectToLogin = c =>
                {
                    c.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                };
                o.Events.OnRedirectToAccessDenied = c =>
                {
                    c.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
                o.Events.OnValidatePrincipal = ValidateSessionAsync;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null)
            .AddOidcLogin(options);
        s.AddAuthorization(o =>
        {
            foreach (var (policy, roles) in Policies.Matrix)
            {
                o.AddPolicy(policy, p => p.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme, ApiKeyHandler.SchemeName).RequireRole(roles));
            }

            // Anything not mapped with its own policy needs a session or a key (so a key's malformed request gets a 4xx that explains it, not a 401).
            o.FallbackPolicy = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(CookieAuthenticationDefaults.AuthenticationScheme, ApiKeyHandler.SchemeName)
                .RequireAuthenticatedUser().Build();
        });
    }

    /// <summary>A session ends when its account is disabled, its password or role changes (the stamp moves).</summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var user = CurrentUser.From(context.Principal!);
        var stamp = context.Principal!.FindFirst(CurrentUser.StampClaim)?.Value;
        var dbs = context.HttpContext.RequestServices.GetRequiredService<IDbContextFactory<CivicLensDb>>();
        await using var db = await dbs.CreateDbContextAsync(context.HttpContext.RequestAborted);
        var current = user is null ? null : await db.Users.AsNoTracking().Where(u => u.Id == user.Id).Select(u => new { u.SecurityStamp, u.Disabled, u.Role }).FirstOrDefaultAsync();
        if (current is null || current.Disabled || current.SecurityStamp != stamp || current.Role != user!.Role)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    private static void AddApi(this WebApplicationBuilder builder, ServerOptions options)
    {
        var s = builder.Services;
        s.ConfigureHttpJsonOptions(o =>
        {
            // Unknown fields are an error, not silently dropped (a typo must not pass as a default).
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        s.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions.Remove("traceId"));
        s.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(AuthEndpoints.LoginLimiter, ctx => RateLimitPartition.GetFixedWindowLimiter(ClientAddress.PartitionOf(ctx.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.LoginAttemptsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
                RateLimitPartition.GetTokenBucketLimiter(ctx.User.Identity?.Name ?? ClientAddress.PartitionOf(ctx.Connection.RemoteIpAddress), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.RequestsPerMinute,
                    TokensPerPeriod = options.RequestsPerMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
        });
        s.AddSignalR(o => o.MaximumReceiveMessageSize = 32 * 1024);
        // One process: no other hub to relay the live feed to (a cluster's hub adds its peers).
        s.TryAddSingleton<ILivePeers>(NoLivePeers.Instance);
        s.AddSingleton<LiveNotifier>();
        s.AddOpenApi("v1");
    }

    private static void AddIngest(this WebApplicationBuilder builder, ServerOptions options)
    {
        var s = builder.Services;
        s.AddSingleton(sp =>
        {
            var catalog = sp.GetRequiredService<CameraCatalog>();
            return new EventJournal(options.JournalDirectory, CameraHost.Mapper(catalog.District, catalog.Cached));
        });
        s.AddSingleton<CameraHealthUpdater>();
        // The camera registry: the database is its system of record; the host runs its enabled cameras here.
        s.AddSingleton<CameraCatalog>();
        s.AddSingleton<RegistrySignal>();
        s.AddSingleton<CameraRegistry>();
        s.AddSingleton<CameraImporter>();
        s.AddSingleton<CameraStateStore>();
        s.AddHostedService(sp => sp.GetRequiredService<CameraStateStore>());
        s.AddHostedService<CameraStateFolding>();
        s.TryAddSingleton<CameraHost>();
        s.AddHostedService(sp => sp.GetRequiredService<CameraHost>());
        // Running cameras: load, the redacted live view, zone and line edits applied without a restart.
        s.AddSingleton(sp => new CivicLens.Pipeline.CameraRuntimes(sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton<ICameraGeometryStore, DbCameraGeometryStore>();
        s.AddSingleton<CameraGeometryService>();
        s.AddSingleton<LiveViewAudit>();
        s.AddHostedService<JournalDrain>();
        s.AddSingleton<CivicLens.Server.Holds.LegalHoldService>();
        s.AddSingleton<RetentionService>();
        s.AddHostedService(sp => sp.GetRequiredService<RetentionService>());
    }

    private static async Task PrepareStoreAsync(this WebApplication app, ServerOptions options, CivicLensConfig config, CancellationToken ct)
    {
        var dbs = app.Services.GetRequiredService<IDbContextFactory<CivicLensDb>>();
        var audit = app.Services.GetRequiredService<AuditLog>();
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (!await db.Users.AnyAsync(ct))
        {
            StartupGuard.CheckAdminPassword(options.AdminPassword);
            await app.Services.GetRequiredService<AccountService>().CreateAsync("admin", options.AdminPassword!, Roles.Admin, null, ct);
            await audit.AppendAsync(new AuditEntry("system", "user.create", "ok", "user:admin", "first start"), ct);
        }

        if (options.ConfigPath is not null)
        {
            var changes = await DistrictSync.ImportAsync(db, config, await File.ReadAllTextAsync(options.ConfigPath, ct), app.Services.GetRequiredService<SecretBox>(),
                CameraImportMode.CreateMissing, ct);
            if (changes > 0) await audit.AppendAsync(new AuditEntry("system", "config.import", "ok", Path.GetFileName(options.ConfigPath), $"{changes} rows changed"), ct);
        }
    }

    private static void UseApi(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<ServerOptions>();
        if (options.TrustedProxies is { Count: > 0 } proxies)
        {
            // Only the nearest hop, and only from a configured proxy: the caller the limits and the audit count.
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in proxies) forwarded.KnownIPNetworks.Add(network);
            app.UseForwardedHeaders(forwarded);
        }

        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = StoreFailureHandler.HandleAsync });
        app.UseStatusCodePages();
        app.UseMiddleware<SecurityHeaders>();
        app.UseRateLimiter();
        // The console's static shell (the login page; no data) is served before authorization; its data comes from the API.
        app.UseConsole();
        app.UseAuthentication();
        app.UseMiddleware<DeniedAudit>();
        app.UseAuthorization();
        app.MapAuth();
        app.MapOidcLogin();
        app.MapEvents();
        app.MapIngest();
        app.MapRegistry();
        app.MapCameraEditing();
        app.MapCameraLifecycle();
        app.MapLiveView();
        app.MapCases();
        app.MapAdmin();
        app.MapTransparency();
        app.MapReveal();
        app.MapReports(options.PhotoMaxBytes);
        app.MapCaseDesk();
        CivicLens.Server.Holds.HoldEndpoints.MapHolds(app);
        app.MapOpen311(options.PhotoMaxBytes);
        app.MapMap();
        app.MapOperations();
        app.MapHub<LiveHub>("/hubs/live");
        app.MapOpenApi("/api/openapi/{documentName}.json").RequireAuthorization();
    }
}
