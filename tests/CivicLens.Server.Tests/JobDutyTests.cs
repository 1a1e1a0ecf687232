using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Server.Tests;

/// <summary>In a cluster the once-only jobs run on the leading hub only; a hub that does not lead leaves them alone.</summary>
public sealed class JobDutyTests
{
    private sealed class Switch : IJobDuty
    {
        public volatile bool On;

        public bool RunsJobs => On;
    }

    [Fact]
    public async Task Outbox_delivery_waits_until_this_process_holds_the_jobs()
    {
        var duty = new Switch();
        await using var server = await TestServer.StartAsync(configure: b => b.Services.AddSingleton<IJobDuty>(duty));
        var status = server.Service<OutboxStatus>();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, status.Rounds);
        duty.On = true;
        await Eventually.TrueAsync(() => status.Rounds > 0, TimeSpan.FromSeconds(20), "a delivery round once this process holds the jobs");
    }
}
