using CivicLens.Domain.Frames;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Rules.Health;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Rules.Tests.Health;

public sealed class CameraHealthMonitorTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly List<RuleEvent> _events = [];
    private readonly CameraHealthMonitor _monitor;

    public CameraHealthMonitorTests()
    {
        var camera = new CameraConfig { Id = "cam7", Width = 640, Height = 480, Site = "station", Health = new HealthConfig { OfflineAfter = TimeSpan.FromSeconds(10) } };
        _monitor = new CameraHealthMonitor(camera, _time, e => { lock (_events) _events.Add(e); });
    }

    public void Dispose() => _monitor.Dispose();

    private void Report(SourceState state, string? reason = null) => _monitor.OnHealth(new SourceHealth("cam7", state, _time.GetUtcNow(), reason));

    [Fact]
    public void OnHealth_OutageLongerThanThreshold_OfflineThenOnlineWithDuration()
    {
        Report(SourceState.Streaming);
        Report(SourceState.Reconnecting, "connection refused");
        var down = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(_events);

        _time.Advance(TimeSpan.FromSeconds(1));
        var offline = Assert.Single(_events);
        Assert.Equal(("camera.offline", EventPhase.Start), (offline.Kind, offline.Phase));
        Assert.Equal(down, offline.At);
        Assert.Equal("connection refused", offline.Detail);
        Assert.Equal("station", offline.Site);
        Assert.True(_monitor.IsOffline);

        _time.Advance(TimeSpan.FromSeconds(35));
        Report(SourceState.Streaming);
        Assert.Equal(2, _events.Count);
        var online = _events[1];
        Assert.Equal(("camera.online", EventPhase.End), (online.Kind, online.Phase));
        Assert.Equal(offline.Id, online.IncidentId);
        Assert.Equal(TimeSpan.FromSeconds(45), online.Duration);
        Assert.False(_monitor.IsOffline);
    }

    [Fact]
    public void OnHealth_ShortBlip_IsCountedNotReported()
    {
        Report(SourceState.Streaming);
        Report(SourceState.Reconnecting);
        _time.Advance(TimeSpan.FromSeconds(4));
        Report(SourceState.Streaming);
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Empty(_events);
        Assert.Equal(1, _monitor.Blips);
    }

    [Fact]
    public void OnHealth_SourceGivesUp_OfflineAtOnceAndOnlyOnce()
    {
        Report(SourceState.Reconnecting);
        _time.Advance(TimeSpan.FromSeconds(12));
        Report(SourceState.Failed, "gave up after 5 attempts");
        _time.Advance(TimeSpan.FromSeconds(60));

        var offline = Assert.Single(_events);
        Assert.Equal("camera.offline", offline.Kind);
    }

    [Fact]
    public void OnHealth_SameOutageReplayed_SameEventIds()
    {
        IReadOnlyList<Guid> Run()
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
            var events = new List<RuleEvent>();
            var camera = new CameraConfig { Id = "cam7", Width = 640, Height = 480 };
            using var monitor = new CameraHealthMonitor(camera, time, events.Add);
            monitor.OnHealth(new SourceHealth("cam7", SourceState.Reconnecting, time.GetUtcNow(), null));
            time.Advance(TimeSpan.FromSeconds(20));
            monitor.OnHealth(new SourceHealth("cam7", SourceState.Streaming, time.GetUtcNow(), null));
            return events.Select(e => e.Id).ToList();
        }

        Assert.Equal(Run(), Run());
        Assert.Equal(2, Run().Distinct().Count());
    }
}
