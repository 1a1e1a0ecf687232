using System.Threading.RateLimiting;
using CivicLens.Pipeline.Stills;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Server.Security;
using Microsoft.AspNetCore.RateLimiting;

namespace CivicLens.Server.Reports;

public static class ReportSetup
{
    /// <summary>Registers report intake, routing and the case desk; the photo intake loads its models on first use.</summary>
    public static void AddReports(this WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var s = builder.Services;
        s.AddSingleton<CaseDesk>();
        s.AddSingleton<ReportIntake>();
        s.AddSingleton<CaseVerifier>();
        s.AddSingleton<CaseService>();
        s.AddHostedService<SlaWatch>();
        s.AddHostedService<DeliveryWarnings>();
        s.AddSingleton(sp =>
        {
            var models = options.ModelsDirectory ?? throw new InvalidOperationException("photos need the detector models: start serve with --models");
            return new PhotoIntake(StillRedactor.Open(models, loggers: sp.GetRequiredService<ILoggerFactory>()), new PhotoIntakeOptions { MaxBytes = options.PhotoMaxBytes });
        });
        s.Configure<RateLimiterOptions>(o => o.AddPolicy(ReportEndpoints.PublicLimiter, ctx =>
            RateLimitPartition.GetFixedWindowLimiter(ClientAddress.PartitionOf(ctx.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = options.PublicReportsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })));
    }
}

/// <summary>Says at start which departments' notices will wait in the outbox because their channel is not configured.</summary>
internal sealed partial class DeliveryWarnings(ServerOptions options, ILogger<DeliveryWarnings> logger) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Smtp is null)
        {
            var waiting = options.DepartmentDeliveries.Where(d => d.Kind == DeliveryKinds.Email).Select(d => d.Department).Distinct().ToList();
            if (waiting.Count > 0) LogNoMailServer(logger, string.Join(", ", waiting));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Departments {Departments} are told by email, but no mail server is configured (--smtp): their notices wait in the outbox until one is")]
    private static partial void LogNoMailServer(ILogger logger, string departments);
}
