using System.Globalization;
using CivicLens.Cluster.Hub;
using CivicLens.Cluster.Node;
using CivicLens.Cluster.Placement;
using CivicLens.Cluster.Security;
using CivicLens.Pipeline.Supervision;
using CivicLens.Server.Hosting;
using CivicLens.Server.Live;
using CivicLens.Storage;
using CivicLens.Storage.Secrets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace CivicLens.Cluster.Hosting;

/// <summary>
/// Composes the two roles of a cluster: a hub (<c>serve --cluster</c>: the single-machine server plus a silo that
/// places cameras and takes nodes' events) and a node (<c>node</c>: a silo that runs the cameras placed on it).
/// Both keep membership and reminders in the hub's PostgreSQL (no grain keeps state of its own: see CameraGrain).
/// </summary>
public static class ClusterSetup
{
    private const string Invariant = "Npgsql";

    /// <summary>Refuses settings that could not form a safe cluster, every problem at once.</summary>
    public static void Check(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Problems() is { Count: > 0 } problems) throw new StartupException("The cluster cannot start: " + string.Join("; ", problems) + ".");
    }

    /// <summary>Makes a single-machine server a hub: it analyses nothing itself and places the registry's cameras on nodes.</summary>
    public static async Task<ServerOptions> PrepareHubAsync(ServerOptions options, ClusterSettings settings, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check(settings);
        if (options.Storage?.Provider != StorageProvider.PostgreSql) throw new StartupException("A hub keeps the district in PostgreSQL: give --postgres (or CIVICLENS_POSTGRES) with --cluster.");
        await OrleansSchema.EnsureAsync(settings.ConnectionString, ct);
        await HubAgreement.CheckAsync(settings.ConnectionString, options, settings.Name, ct);
        return options with { RunPipelines = false };
    }

    /// <summary>The hub's silo and its services, added to the server's builder.</summary>
    public static void AddHub(WebApplicationBuilder builder, ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseOrleans(silo => ConfigureSilo(silo, settings));
        var s = builder.Services;
        s.AddSingleton(settings);
        s.AddSingleton<HubLeadership>();
        s.AddSingleton<IJobDuty>(sp => sp.GetRequiredService<HubLeadership>());
        s.AddHostedService<HubKeeper>();
        s.AddSingleton<CameraPlacer>();
        s.AddHostedService(sp => sp.GetRequiredService<CameraPlacer>());
        // A console on any hub sees the whole district's live feed.
        s.AddSingleton<ILivePeers, HubLivePeers>();
        // Sessions are valid on every hub and outlive the hub that made them.
        s.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new SessionKeyRing(settings.ConnectionString);
            o.XmlEncryptor = new SealedKeyEncryptor(sp.GetRequiredService<SecretBox>());
        }));
    }

    /// <summary>A worker node: a silo that runs the cameras placed on it and sends their events to the hubs.</summary>
    public static async Task<IHost> BuildNodeAsync(ClusterSettings settings, AnalysisSettings analysis, string dataDirectory, Action<HostApplicationBuilder>? configure,
        TextWriter log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(analysis);
        Check(settings);
        if (settings.Role != ClusterRoles.Node) throw new ArgumentException("A node's settings must have the node role.", nameof(settings));
        await OrleansSchema.EnsureAsync(settings.ConnectionString, ct);
        if (analysis.SealedOriginals is { } sealing) await HubAgreement.CheckNodeSealingAsync(settings.ConnectionString, sealing.KeyPath, ct);
        // The district (areas, sites, signals, time zone) the cameras' rules are checked against, from the hub's store.
        var district = await Node.NodeDistrict.WaitAsync(settings.ConnectionString, log, ct);

        Directory.CreateDirectory(dataDirectory);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        configure?.Invoke(builder);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
        builder.UseOrleans(silo => ConfigureSilo(silo, settings));
        var s = builder.Services;
        s.AddSingleton(settings);
        s.AddSingleton(TimeProvider.System);
        s.AddSingleton(sp => new NodeCameras(settings, analysis, district, () => Node.NodeDistrict.ReadAsync(settings.ConnectionString, CancellationToken.None), Path.Combine(dataDirectory, "journal"), new CameraSupervisorOptions(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton<NodeClock>();
        s.AddSingleton<NodeUplink>();
        s.AddHostedService(sp => sp.GetRequiredService<NodeUplink>());
        // A node that cannot keep up gives cameras back rather than dropping frames until events are missed.
        s.AddHostedService<NodeOverloadWatch>();
        // Registered after the silo: stopped before it, so the cameras drain while the cluster still answers.
        s.AddHostedService<NodeDrain>();
        return builder.Build();
    }

    private static void ConfigureSilo(ISiloBuilder silo, ClusterSettings settings)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = settings.ClusterId;
            o.ServiceId = settings.ClusterId;
        });
        silo.Configure<SiloOptions>(o => o.SiloName = settings.Name);
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = settings.ConnectionString;
        });
        silo.UseAdoNetReminderService(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = settings.ConnectionString;
        });
        // Silos talk to silos only; no Orleans client connects, so no gateway listens.
        silo.ConfigureEndpoints(settings.AdvertisedAddress, settings.SiloPort, gatewayPort: 0, listenOnAnyHostAddress: !System.Net.IPAddress.IsLoopback(settings.AdvertisedAddress));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            // A hung node (SIGSTOP) is declared dead after about three missed probes.
            o.ProbeTimeout = settings.ProbeTimeout;
            o.NumMissedProbesLimit = 3;
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
            // Orleans judges a member's last "I am alive" by the reader's own clock: with the default 20 s, a node whose
            // clock is a minute ahead sees every hub as stale, learns none of their roles and cannot send its events.
            // Liveness is decided by probes (above), not by this; 5 minutes keeps a skewed node working while NTP is fixed.
            o.NumMissedTableIAmAliveLimit = 30;
            o.DefunctSiloCleanupPeriod = TimeSpan.FromMinutes(10);
            o.DefunctSiloExpiration = TimeSpan.FromHours(1);
        });
        silo.UseSiloMetadata(new Dictionary<string, string>
        {
            [ClusterRoles.RoleKey] = settings.Role,
            [ClusterRoles.NameKey] = settings.Name,
            [ClusterRoles.CapacityKey] = settings.Capacity.ToString(CultureInfo.InvariantCulture),
        });
        silo.Services.AddSingleton<NodeLoadBook>();
        silo.Services.AddPlacementDirector<NodePlacement, NodePlacementDirector>();
        silo.Services.AddPlacementDirector<HubPlacement, HubPlacementDirector>();
        if (settings.UsesTls)
        {
            var log = new DeferredLogger();
            silo.Services.AddSingleton(log);
            silo.Services.AddHostedService<DeferredLogger.Binder>();
            silo.UseClusterTls(ClusterCertificates.LoadNode(settings.CertificatePath!), ClusterCertificates.LoadAuthority(settings.AuthorityPath!), log);
        }
    }
}
