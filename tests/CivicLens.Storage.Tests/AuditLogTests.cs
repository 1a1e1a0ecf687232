using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Storage.Tests;

public sealed class AuditLogTests
{
    private static async Task<AuditLog> FilledAsync(TestDatabase db, string anchor, int count = 10)
    {
        var log = new AuditLog(db.Options, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000)), anchor);
        for (var i = 0; i < count; i++) await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", $"event-{i}"), CancellationToken.None);
        return log;
    }

    private static async Task SqlAsync(TestDatabase db, string sql)
    {
        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        await ctx.Database.ExecuteSqlRawAsync(sql);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_UntouchedLog_IsIntact(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        var result = await log.VerifyAsync(CancellationToken.None);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(10, result.RecordsVerified);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_EditedRecord_IsDetected(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        await SqlAsync(db, "UPDATE audit SET actor = 'someone-else' WHERE seq = 4");
        var result = await log.VerifyAsync(CancellationToken.None);
        Assert.False(result.Intact);
        Assert.Equal(4, result.BrokenAt);
        Assert.Contains("changed", result.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_RemovedRecord_IsDetected(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        await SqlAsync(db, "DELETE FROM audit WHERE seq = 6");
        var result = await log.VerifyAsync(CancellationToken.None);
        Assert.False(result.Intact);
        Assert.Equal(6, result.BrokenAt);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_RecordsCutFromTheEnd_AreDetectedByTheAnchor(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        await SqlAsync(db, "DELETE FROM audit WHERE seq >= 9");
        var result = await log.VerifyAsync(CancellationToken.None);
        Assert.False(result.Intact);
        Assert.Contains("removed from the end", result.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task VerifyAsync_RecordReplacedWithRecomputedHash_BreaksTheChain(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = await FilledAsync(db, Path.Combine(dir.Path, "anchor"));
        // A forger who recomputes the edited record's own hash still breaks the next record's link.
        await using (var ctx = new CivicLensDb(StorageSetup.Options(db.Options)))
        {
            var r = await ctx.Audit.SingleAsync(a => a.Seq == 3);
            r.Target = "event-forged";
            r.Hash = AuditLog.ComputeHash(r);
            await ctx.SaveChangesAsync();
        }

        var result = await log.VerifyAsync(CancellationToken.None);
        Assert.False(result.Intact);
        Assert.Equal(4, result.BrokenAt);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendAsync_ConcurrentWriters_KeepOneGaplessChain(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        var anchor = Path.Combine(dir.Path, "anchor");
        // Two logs over one database stand for two server processes.
        using var a = new AuditLog(db.Options, TimeProvider.System, anchor);
        using var b = new AuditLog(db.Options, TimeProvider.System, anchor);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).AppendAsync(new AuditEntry("x", "login", "ok"), CancellationToken.None)));
        var result = await a.VerifyAsync(CancellationToken.None);
        Assert.True(result.Intact, result.Problem);
        Assert.Equal(40, result.RecordsVerified);
    }
}
