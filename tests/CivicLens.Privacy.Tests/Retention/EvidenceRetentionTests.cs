using CivicLens.Privacy.Retention;
using CivicLens.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Privacy.Tests.Retention;

public sealed class EvidenceRetentionTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = TestAssets.CreateTempDirectory();
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _dir.Dispose();

    private string Snapshot(Guid eventId, DateTimeOffset writtenAt, string suffix = "")
    {
        var path = Path.Combine(_dir.Path, $"gate-cam-0000042-{eventId.ToString("N")[..8]}{suffix}.jpg");
        File.WriteAllBytes(path, [0xFF, 0xD8, 0xFF]);
        File.SetLastWriteTimeUtc(path, writtenAt.UtcDateTime);
        return path;
    }

    [Fact]
    public void Purge_AfterRetention_DeletesOldEvidenceAndKeepsRecent()
    {
        var old = Snapshot(Guid.NewGuid(), T0);
        var site = Snapshot(Guid.NewGuid(), T0, "-site");
        var recent = Snapshot(Guid.NewGuid(), T0.AddDays(25));
        var retention = new EvidenceRetention(_dir.Path, TimeSpan.FromDays(30), _time);

        _time.SetUtcNow(T0.AddDays(29));
        Assert.Equal(new PurgeResult(0, 0, 3), retention.Purge());

        _time.SetUtcNow(T0.AddDays(30));
        Assert.Equal(new PurgeResult(2, 0, 1), retention.Purge());
        Assert.False(File.Exists(old));
        Assert.False(File.Exists(site));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public void Purge_LegalHold_KeepsNamedEvidenceUntilTheHoldExpires()
    {
        var held = Guid.NewGuid();
        var heldPath = Snapshot(held, T0);
        var heldSite = Snapshot(held, T0, "-site");
        var other = Snapshot(Guid.NewGuid(), T0);
        var retention = new EvidenceRetention(_dir.Path, TimeSpan.FromDays(30), _time);
        retention.Hold(new LegalHold("CASE-2026-0142", T0.AddDays(60), [held]));

        _time.SetUtcNow(T0.AddDays(31));
        Assert.Equal(new PurgeResult(1, 2, 0), retention.Purge());
        Assert.True(File.Exists(heldPath) && File.Exists(heldSite));
        Assert.False(File.Exists(other));

        _time.SetUtcNow(T0.AddDays(60));
        Assert.Equal(new PurgeResult(2, 0, 0), retention.Purge());
    }

    [Fact]
    public void Purge_WithCameraPrefix_LeavesOtherCamerasEvidence()
    {
        var mine = Snapshot(Guid.NewGuid(), T0);
        var theirs = Path.Combine(_dir.Path, "north-0000001-0a0b0c0d.jpg");
        File.WriteAllBytes(theirs, [0xFF]);
        File.SetLastWriteTimeUtc(theirs, T0.UtcDateTime);
        var retention = new EvidenceRetention(_dir.Path, TimeSpan.FromDays(30), _time) { FilePrefix = "gate-cam-" };
        _time.SetUtcNow(T0.AddDays(40));

        Assert.Equal(1, retention.Purge().Deleted);
        Assert.False(File.Exists(mine));
        Assert.True(File.Exists(theirs));
    }

    [Fact]
    public void Hold_WithoutCaseOrWithPastExpiry_IsRefused()
    {
        var retention = new EvidenceRetention(_dir.Path, TimeSpan.FromDays(30), _time);

        Assert.Throws<ArgumentException>(() => retention.Hold(new LegalHold(" ", T0.AddDays(5), [Guid.NewGuid()])));
        Assert.Throws<ArgumentException>(() => retention.Hold(new LegalHold("CASE-1", T0.AddDays(-1), [Guid.NewGuid()])));
        Assert.Empty(retention.Holds());
    }

    [Fact]
    public void Purge_UnreadableHolds_PurgesNothing()
    {
        var path = Snapshot(Guid.NewGuid(), T0);
        File.WriteAllText(Path.Combine(_dir.Path, EvidenceRetention.HoldsFile), "{ not json");
        var retention = new EvidenceRetention(_dir.Path, TimeSpan.FromDays(30), _time);
        _time.SetUtcNow(T0.AddDays(90));

        var ex = Assert.Throws<InvalidDataException>(retention.Purge);

        Assert.Contains("nothing is purged", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
    }
}
