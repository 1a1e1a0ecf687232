using System.CommandLine;
using System.Net;
using CivicLens.Cluster;
using CivicLens.Cluster.Hosting;
using CivicLens.Cluster.Node;
using CivicLens.Pipeline.Supervision;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CivicLens.Cli;

/// <summary>The flags a hub (<c>serve --cluster</c>) and a node (<c>node</c>) share to join one cluster (docs/cluster.md).</summary>
internal sealed class ClusterFlags
{
    public Option<bool> Cluster { get; } = new("--cluster") { Description = "Join the district's cluster (Orleans on the --postgres database): this server becomes a hub; cameras run on nodes" };

    public Option<string> Name { get; } = new("--name") { Description = "This hub's or node's name, unique in the cluster (default: the host name)", DefaultValueFactory = _ => DefaultName() };

    public Option<int> SiloPort { get; } = new("--silo-port") { Description = "Port other hubs and nodes reach this one at (default 11111)", DefaultValueFactory = _ => 11111 };

    public Option<string> Advertise { get; } = new("--advertise") { Description = "IP address other hubs and nodes reach this one at (default 127.0.0.1; anything else needs TLS)", DefaultValueFactory = _ => "127.0.0.1" };

    public Option<string> ClusterId { get; } = new("--cluster-id") { Description = "The district's cluster id; hubs and nodes with another never meet (default civiclens)", DefaultValueFactory = _ => "civiclens" };

    public Option<string?> Certificate { get; } = new("--cluster-certificate") { Description = "This silo's certificate and key (PFX, from civiclens keys cluster create)" };

    public Option<string?> Authority { get; } = new("--cluster-ca") { Description = "The cluster CA certificate (ca.crt): peers must present a certificate it signed" };

    public IEnumerable<Option> All => [Name, SiloPort, Advertise, ClusterId, Certificate, Authority];

    public ClusterSettings Settings(ParseResult parse, string role, string? connectionString, int capacity)
    {
        var advertise = parse.GetValue(Advertise)!;
        if (!IPAddress.TryParse(advertise, out var address)) throw new ArgumentException($"--advertise must be an IP address, not '{advertise}'.");
        return new ClusterSettings
        {
            Role = role,
            Name = parse.GetValue(Name)!,
            ConnectionString = connectionString ?? "",
            ClusterId = parse.GetValue(ClusterId)!,
            AdvertisedAddress = address,
            SiloPort = parse.GetValue(SiloPort),
            Capacity = capacity,
            CertificatePath = parse.GetValue(Certificate),
            AuthorityPath = parse.GetValue(Authority),
        };
    }

    private static string DefaultName()
    {
        var host = Dns.GetHostName().ToLowerInvariant();
        var clean = new string([.. host.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        return clean.Length == 0 ? "civiclens" : clean[..Math.Min(clean.Length, 63)];
    }
}

/// <summary><c>civiclens node</c>: a worker of the district's cluster that runs the cameras the hubs place on it.</summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var flags = new ClusterFlags();
        var postgres = ServeCommand.PostgresOption();
        var capacity = new Option<int>("--capacity") { Description = "Cameras this node carries at most (size it from civiclens bench density)", Required = true };
        var data = new Option<string>("--data") { Description = "Folder for this node's journal and evidence not yet taken by a hub", DefaultValueFactory = _ => Path.Combine(Domain.CivicLensHome.Resolve().Root, "node") };
        var models = CommonOptions.ModelsDirectory();
        var fps = new Option<double?>("--fps") { Description = "Frames per second each camera analyses (default: every frame)" };
        var provider = new Option<Inference.Detectors.ExecutionProviderKind>("--provider") { Description = "cpu, or cuda when ONNX Runtime's GPU package is installed (falls back to cpu, logged)" };
        var detector = new Option<string?>("--detector") { Description = "Another ONNX detector (NanoDet layout; labels in PATH.json); must match the hub's" };
        var verbose = CommonOptions.Verbose();
        var controlPlane = new Option<bool>("--control-plane-only")
        {
            Description = "For civiclens bench cluster only: take, check and record cameras and report their health, but decode nothing (no ffmpeg, no detector); "
                + "reads 'flips N' lines on stdin (N health changes a second)",
        };
        var sealingKey = new Option<string?>("--sealing-key")
        {
            Description = "Seal each event's unredacted frame with the district's sealing key (the hubs' --sealing-key file); sent to the hubs sealed, never in the clear",
        };
        var sealWindow = new Option<double>("--seal-hours") { Description = "Hours a sealed original no hub took is kept on this node before it is destroyed", DefaultValueFactory = _ => 72 };
        var node = new Command("node", "Run a worker node of the district's cluster: it analyses the cameras the hubs place on it")
        {
            postgres, capacity, data, models, fps, provider, detector, verbose, controlPlane, sealingKey, sealWindow,
        };
        foreach (var o in flags.All) node.Options.Add(o);
        node.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var connection = ServeCommand.Storage(parse.GetValue(postgres))?.ConnectionString;
            var settings = flags.Settings(parse, ClusterRoles.Node, connection, parse.GetValue(capacity)) with { ControlPlaneOnly = parse.GetValue(controlPlane) };
            var dataDir = Path.GetFullPath(parse.GetValue(data)!);
            var analysis = new AnalysisSettings
            {
                ModelsDirectory = parse.GetValue(models)!,
                DetectorPath = parse.GetValue(detector),
                ExecutionProvider = parse.GetValue(provider),
                SnapshotDirectory = Directory.CreateDirectory(Path.Combine(dataDir, "evidence")).FullName,
                SampleFps = parse.GetValue(fps),
                LoopFileSources = true,
                SealedOriginals = parse.GetValue(sealingKey) is { } key
                    ? new CivicLens.Pipeline.SealedOriginalsSettings(Directory.CreateDirectory(Path.Combine(dataDir, "sealed")).FullName, key, TimeSpan.FromHours(parse.GetValue(sealWindow)))
                    : null,
            };
            var level = parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information;
            using var host = await ClusterSetup.BuildNodeAsync(settings, analysis, dataDir, b => Logging.Configure(b.Logging, level), Console.Out, ct);
            await host.StartAsync(ct);
            await Console.Out.WriteLineAsync($"Node {settings.Name} joined cluster {settings.ClusterId} on {settings.AdvertisedAddress}:{settings.SiloPort} (capacity {settings.Capacity} cameras)"
                + (settings.ControlPlaneOnly ? "; control-plane only: nothing is decoded" : ""));
            if (host.Services.GetRequiredService<NodeCameras>().ControlPlane is { } bench)
            {
                // The bench's control channel; it ends with stdin, never the node.
                _ = Task.Run(() => bench.FollowAsync(Console.In, Console.Out, ct), ct);
            }

            await host.WaitForShutdownAsync(ct);
            return 0;
        }));
        return node;
    }
}
