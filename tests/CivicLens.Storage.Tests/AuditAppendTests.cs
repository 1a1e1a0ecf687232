using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Storage.Tests;

/// <summary>
/// The append side of the audit chain: concurrent appends grouped into few transactions, appends inside a caller's
/// transaction that commit or roll back with it, and the two mixed, always leaving one valid chain.
/// </summary>
public sealed class AuditAppendTests
{
    private static AuditLog Log(TestDatabase db, string anchor) => new(db.Options, new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000)), anchor);

    private static async Task<List<AuditRecord>> RecordsAsync(TestDatabase db)
    {
        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        return await ctx.Audit.AsNoTracking().OrderBy(a => a.Seq).ToListAsync();
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendAsync_ManyAtOnce_AllCommittedInFewTransactions_AndTheChainIsValid(string provider)
    {
        const int n = 200;
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = Log(db, Path.Combine(dir.Path, "anchor"));

        var records = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(() => log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", $"event-{i}"), CancellationToken.None))));

        // Every caller got its own committed record, in one gapless chain.
        Assert.Equal(Enumerable.Range(1, n).Select(i => (long)i), records.Select(r => r.Seq).Order());
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"event-{i}").Order(StringComparer.Ordinal), (await RecordsAsync(db)).Select(r => r.Target!).Order(StringComparer.Ordinal));
        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
        Assert.Equal(n, verified.RecordsVerified);
        // Grouped: far fewer transactions than appends (one per batch), where a lock would have made one each.
        Assert.InRange(log.Batches, 1, n / 10);
        Assert.Equal($"{n} {records.Single(r => r.Seq == n).Hash}", File.ReadAllText(Path.Combine(dir.Path, "anchor")).Trim());
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendInAsync_CallersTransactionRolledBack_LeavesNoRecord_AndTheChainGoesOn(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = Log(db, Path.Combine(dir.Path, "anchor"));
        await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "event-1"), CancellationToken.None);

        await using (var ctx = new CivicLensDb(StorageSetup.Options(db.Options)))
        {
            await using var tx = await ctx.Database.BeginTransactionAsync();
            ctx.Cases.Add(new CaseRecord { Title = "bags", Category = "waste", DepartmentId = "sanitation", AreaId = "campus" });
            var record = await log.AppendInAsync(ctx, new AuditEntry("ops1", "case.open", "ok", "case:1"), CancellationToken.None);
            Assert.Equal(2, record.Seq);
            await tx.RollbackAsync();
        }

        await using (var check = new CivicLensDb(StorageSetup.Options(db.Options)))
        {
            Assert.Equal(0, await check.Cases.CountAsync());
        }

        Assert.Equal(["event.view"], (await RecordsAsync(db)).Select(r => r.Action));
        var next = await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "event-2"), CancellationToken.None);
        Assert.Equal(2, next.Seq);
        Assert.True((await log.VerifyAsync(CancellationToken.None)).Intact);
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AppendInAsync_WithoutATransaction_IsRefused(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var log = Log(db, Path.Combine(Path.GetTempPath(), $"anchor-{Guid.NewGuid():N}"));
        await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
        await Assert.ThrowsAsync<InvalidOperationException>(() => log.AppendInAsync(ctx, new AuditEntry("ops1", "case.open", "ok"), CancellationToken.None));
        Assert.Empty(await RecordsAsync(db));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Appends_GroupedAndInTransactionsMixed_MakeOneLinearChain(string provider)
    {
        await using var db = await TestDatabase.CreateAsync(provider);
        using var dir = new TempDirectory();
        using var log = Log(db, Path.Combine(dir.Path, "anchor"));

        async Task InTransactionAsync(int i)
        {
            await using var ctx = new CivicLensDb(StorageSetup.Options(db.Options));
            await using var tx = await ctx.Database.BeginTransactionAsync();
            var record = await log.AppendInAsync(ctx, new AuditEntry("ops1", "case.transition", "ok", $"case:{i}"), CancellationToken.None);
            await tx.CommitAsync();
            log.Anchor(record);
        }

        var grouped = Enumerable.Range(0, 30).Select(i => Task.Run(() => log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", $"event-{i}"), CancellationToken.None)));
        var changes = Enumerable.Range(0, 15).Select(i => Task.Run(() => InTransactionAsync(i)));
        await Task.WhenAll(grouped.Cast<Task>().Concat(changes));

        var records = await RecordsAsync(db);
        Assert.Equal(Enumerable.Range(1, 45).Select(i => (long)i), records.Select(r => r.Seq));
        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
    }

    [Fact]
    public async Task AppendAsync_CancelledBeforeItIsQueued_WritesNothing()
    {
        await using var db = await TestDatabase.CreateAsync(nameof(StorageProvider.Sqlite));
        using var log = Log(db, Path.Combine(Path.GetTempPath(), $"anchor-{Guid.NewGuid():N}"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => log.AppendAsync(new AuditEntry("ops1", "event.view", "ok"), cancelled.Token));
        Assert.Empty(await RecordsAsync(db));
        Assert.Equal(0, log.Batches);
    }
}
