using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace CivicLens.Server.Operations;

/// <summary>
/// What a load balancer and a monitoring system need (docs/operations.md): <c>/health/live</c> and
/// <c>/health/ready</c>, anonymous and answering one status word, and <c>/metrics</c> in Prometheus text format for
/// a <c>metrics</c> API key or an admin's session.
/// </summary>
public static class OperationsSetup
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    public const string MetricsPath = "/metrics";

    /// <summary>Every meter named <c>CivicLens.Something</c> is exported; a subsystem adds one without touching this file.</summary>
    public const string MeterPattern = "CivicLens.*";

    private const string ReadyTag = "ready";

    public static void AddOperations(this WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var s = builder.Services;
        // A store that does not answer within the timeout is as good as gone for a load balancer.
        s.AddHealthChecks().AddCheck<StoreReadyCheck>("store", HealthStatus.Unhealthy, [ReadyTag], StoreReadyCheck.Timeout);
        s.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("civiclens-server", serviceVersion: typeof(OperationsSetup).Assembly.GetName().Version?.ToString()))
            .WithMetrics(m =>
            {
                m.AddMeter(MeterPattern).AddRuntimeInstrumentation().AddProcessInstrumentation().AddPrometheusExporter();
                foreach (var (instrument, name) in PrometheusNames) m.AddView(instrument, name);
            });
    }

    /// <summary>
    /// The runtime's and the process's gauges named <c>*.count</c>: Prometheus keeps a <c>_count</c> suffix for
    /// histograms and summaries (promtool rejects it elsewhere), so these are exported under Prometheus' own names.
    /// </summary>
    internal static readonly IReadOnlyList<(string Instrument, string Name)> PrometheusNames =
    [
        ("dotnet.assembly.count", "dotnet.assemblies"),
        ("dotnet.process.cpu.count", "dotnet.process.cpus"),
        ("dotnet.timer.count", "dotnet.timers"),
        ("process.thread.count", "process.threads"),
        ("process.unix.file_descriptor.count", "process.open_fds"),
    ];

    public static void MapOperations(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Deliberately anonymous (docs/operations.md): a load balancer has no credentials, and the answer is one
        // word (Healthy or Unhealthy) with no detail of what failed.
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) }).AllowAnonymous();
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(Policies.ReadMetrics);
    }
}
