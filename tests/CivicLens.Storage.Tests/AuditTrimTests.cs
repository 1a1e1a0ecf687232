using CivicLens.Storage.Audit;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Storage.Tests;

/// <summary>The audit log's retention: the oldest records go, an anchor row keeps what remains one verifiable chain.</summary>
public sealed class AuditTrimTests
{
    private static readonly DateTimeOffset T0 = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Records 1..10 a day apart from <see cref="T0"/>.</summary>
    private static async Task<(AuditLog Log, FakeTimeProvider Clock)> FilledAsync(TestDatabase db, string anchor)
    {
        var clock = new FakeTimeProvider(T0);
        var log = new AuditLog(db.Options, clock, anchor);
        for (var i = 0; i < 10; i++)
        {
            await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", $"event-{i}"), CancellationToken.None);
            clock.Advance(TimeSpan.FromDays(1));
        }

        return (log, clock);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TrimAsync_OldestRecords_AreRemovedAndTheRestStillVerifies(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        var (log, _) = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        using var __ = log;

        var trim = await log.TrimAsync(T0.AddDays(4), CancellationToken.None);
        Assert.NotNull(trim);
        Assert.Equal(4, trim.UpToSeq);
        Assert.Equal(4, trim.Records);
        await using (var ctx = new CivicLensDb(StorageSetup.Options(db.Options)))
        {
            Assert.Equal([5L, 6, 7, 8, 9, 10], await ctx.Audit.OrderBy(a => a.Seq).Select(a => a.Seq).ToListAsync());
            Assert.Equal(trim.Hash, await ctx.Audit.Where(a => a.Seq == 5).Select(a => a.PreviousHash).SingleAsync());
            Assert.Equal(1, await ctx.AuditTrims.CountAsync());
        }

        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(6, verified.RecordsVerified);

        // The chain goes on after a trim, and a second trim anchors from the newest.
        await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "after"), CancellationToken.None);
        Assert.Equal(3, (await log.TrimAsync(T0.AddDays(7), CancellationToken.None))!.Records);
        verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(4, verified.RecordsVerified);

        // Nothing old enough: nothing trimmed, no trim row.
        Assert.Null(await log.TrimAsync(T0.AddDays(7), CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task TrimAsync_EverythingOld_KeepsTheNewestRecord(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        var (log, _) = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        using var __ = log;
        var trim = await log.TrimAsync(T0.AddYears(10), CancellationToken.None);
        Assert.Equal(9, trim!.UpToSeq);
        await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "next"), CancellationToken.None);
        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(2, verified.RecordsVerified);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_AfterTrim_RecordRemovedAtTheCut_IsDetected(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        var (log, _) = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        using var __ = log;
        await log.TrimAsync(T0.AddDays(4), CancellationToken.None);
        // Someone removes the first kept record, hoping the cut hides it.
        await using (var ctx = new CivicLensDb(StorageSetup.Options(db.Options)))
        {
            await ctx.Database.ExecuteSqlRawAsync("DELETE FROM audit WHERE seq = 5");
        }

        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.False(verified.Intact);
        Assert.Equal(5, verified.BrokenAt);
    }
}
