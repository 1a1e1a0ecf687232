using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CivicLens.Server.Open311;

public static class Open311Forwarding
{
    /// <summary>One Open311 channel per forwarding department, and the status read-back when there is any.</summary>
    public static void AddOpen311Forwarding(this IServiceCollection s, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var forwards = options.DepartmentDeliveries.Where(d => d.Kind == DeliveryKinds.Open311).ToList();
        if (forwards.Count == 0) return;
        s.AddOptions<Open311ForwardingOptions>().BindConfiguration(Open311ForwardingOptions.Section, o => o.ErrorOnUnknownConfiguration = true).ValidateOnStart();
        s.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Open311ForwardingOptions>, Open311ForwardingOptionsValidator>());
        foreach (var f in forwards)
        {
            // Read once at start (OutboxSetup.Check made sure it is set): a changed key needs a restart.
            var remote = new Open311Remote(f.Department, new Uri(f.Target), f.ServiceCode, Environment.GetEnvironmentVariable(f.ApiKeyEnv!)!);
            s.AddSingleton(remote);
            s.AddSingleton<IOutboxChannel>(sp => new Open311ForwardChannel(remote, sp.GetRequiredService<IHttpClientFactory>(),
                sp.GetRequiredService<IDbContextFactory<CivicLensDb>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Open311ForwardChannel>>()));
        }

        s.TryAddSingleton<Open311StatusPoller>();
        s.AddHostedService(sp => sp.GetRequiredService<Open311StatusPoller>());
    }
}
