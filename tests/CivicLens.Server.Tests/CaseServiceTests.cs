using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Reports.Cases;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cases;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;

namespace CivicLens.Server.Tests;

/// <summary>
/// The case service commits a change, its history, its notices and its audit record in one transaction (a failed
/// audit insert leaves no change behind), and audited reads are grouped into few audit transactions.
/// </summary>
public sealed class CaseServiceTests(ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static Task<CivicLensDb> Db(TestServer server) => server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();

    private static async Task<long> CaseAsync(TestServer server)
    {
        var patrol = await server.StaffAsync(Roles.Viewer);
        var r = await patrol.PostAsync("/api/reports", ReportTests.Form("waste", ReportTests.PlazaLat, ReportTests.PlazaLon, "bags"));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (await r.Content.ReadFromJsonAsync<JsonElement>(Web)).GetProperty("caseId").GetInt64();
    }

    private static async Task<CaseCommandResult> MoveAsync(TestServer server, long id, string state)
    {
        await using var db = await Db(server);
        var version = await db.Cases.Where(c => c.Id == id).Select(c => c.Version).SingleAsync();
        return await server.Service<CaseService>().TransitionAsync(id, state, version, null, "ops1", null, CancellationToken.None);
    }

    /// <summary>Makes the database refuse audit records of one action (a real refusal, inside the writing transaction).</summary>
    private static async Task RefuseAuditAsync(TestServer server, string provider, string action, bool refuse)
    {
        await using var db = await Db(server);
        if (provider == nameof(StorageProvider.Sqlite))
        {
            await db.Database.ExecuteSqlRawAsync(refuse
                ? $"CREATE TRIGGER refuse_audit BEFORE INSERT ON audit WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'audit refused'); END;"
                : "DROP TRIGGER refuse_audit;");
            return;
        }

        await db.Database.ExecuteSqlRawAsync(refuse
            ? $"CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN IF NEW.action = '{action}' THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;"
              + " CREATE TRIGGER refuse_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
            : "DROP TRIGGER refuse_audit ON audit; DROP FUNCTION refuse_audit();");
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Transition_AuditInsertFails_TheChangeItsHistoryAndItsNoticesRollBackToo(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var id = await CaseAsync(server);
        foreach (var state in new[] { "in_progress", "fixed" }) Assert.True((await MoveAsync(server, id, state)).Succeeded);
        int version, history, outbox;
        long audits;
        await using (var db = await Db(server))
        {
            version = await db.Cases.Where(c => c.Id == id).Select(c => c.Version).SingleAsync();
            history = await db.CaseChanges.CountAsync(h => h.CaseId == id);
            outbox = await db.Outbox.CountAsync();
            audits = await db.Audit.LongCountAsync();
        }

        await RefuseAuditAsync(server, provider, "case.transition", refuse: true);
        await Assert.ThrowsAnyAsync<DbUpdateException>(() => MoveAsync(server, id, "in_progress"));
        await RefuseAuditAsync(server, provider, "case.transition", refuse: false);

        await using (var db = await Db(server))
        {
            var c = await db.Cases.AsNoTracking().SingleAsync(x => x.Id == id);
            Assert.Equal((CaseStates.Fixed, version), (c.State, c.Version));
            Assert.Equal(history, await db.CaseChanges.CountAsync(h => h.CaseId == id));
            Assert.Equal(outbox, await db.Outbox.CountAsync());
            Assert.Equal(audits, await db.Audit.LongCountAsync());
        }

        // The same change goes through once the audit store takes it: change, reopen notice and record together.
        Assert.True((await MoveAsync(server, id, "in_progress")).Succeeded);
        await using (var db = await Db(server))
        {
            Assert.Equal(CaseStates.InProgress, (await db.Cases.AsNoTracking().SingleAsync(x => x.Id == id)).State);
            Assert.Equal(outbox + 1, await db.Outbox.CountAsync());
            Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "case.transition" && a.Detail == "fixed -> in_progress"));
        }

        Assert.True((await server.Service<AuditLog>().VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task Transition_StaleVersionOrForbiddenMove_IsAConflict_AndWritesNothing()
    {
        await using var server = await TestServer.StartAsync();
        var id = await CaseAsync(server);
        var op = await server.StaffAsync(Roles.Operator);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsJsonAsync($"/api/cases/{id}/transition", new { state = "fixed", version = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await op.PostAsJsonAsync($"/api/cases/{id}/transition", new { state = "acknowledged", version = 7 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await op.PostAsJsonAsync($"/api/cases/{id}/transition", new { state = "done", version = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await op.PostAsJsonAsync("/api/cases/999/transition", new { state = "acknowledged", version = 0 })).StatusCode);
        await using var db = await Db(server);
        Assert.Equal(0, await db.Audit.CountAsync(a => a.Action == "case.transition"));
        Assert.Equal(1, await db.CaseChanges.CountAsync(h => h.CaseId == id));
    }

    [Fact]
    public async Task AuditedReads_ManyAtOnce_AreAllRecorded_InFarFewerTransactions_OnAValidChain()
    {
        const int n = 60;
        await using var server = await TestServer.StartAsync();
        var id = await CaseAsync(server);
        var op = await server.StaffAsync(Roles.Operator);
        var log = server.Service<AuditLog>();
        var before = log.Batches;

        var answers = await Task.WhenAll(Enumerable.Range(0, n).Select(_ => op.GetAsync($"/api/cases/{id}")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        await using var db = await Db(server);
        Assert.Equal(n, await db.Audit.CountAsync(a => a.Action == "case.view" && a.Target == $"case:{id}"));
        var transactions = log.Batches - before;
        output.WriteLine($"{n} concurrent audited reads: {transactions} audit transactions");
        // One transaction per batch: requests arriving while one is written share the next (a lock made it n).
        Assert.True(transactions is >= 1 and <= n / 2, $"{n} audited reads took {transactions} audit transactions");
        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
    }
}
