using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Reports.Cases;
using CivicLens.Server.Accounts;
using CivicLens.Server.Cases;
using CivicLens.Server.Hosting;
using CivicLens.Server.Outbox;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using MimeKit;

namespace CivicLens.Server.Tests;

/// <summary>
/// What departments and reporters are told, through the outbox in the change's own transaction: departments of a
/// reopened case and of reports added by a merge; a reporter who left an email address and agreed, once, when the
/// problem is fixed or closed (a merged case's reporters too), with nothing of anyone else in it.
/// </summary>
public sealed class NoticeTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static MultipartFormDataContent PublicForm(string description, string? contact, bool notify, double latOffset = 0)
    {
        var form = ReportTests.Form("waste", ReportTests.PlazaLat + latOffset, ReportTests.PlazaLon, description, contact: contact);
        if (notify) form.Add(new StringContent("on"), "notify");
        return form;
    }

    /// <summary>A citizen's report; returns its report id and case id (the public answer names no case).</summary>
    private static async Task<(long Report, long Case, string Token)> ReportAsync(TestServer server, string description, string? contact, bool notify, double latOffset = 0)
    {
        var r = await server.Client().PostAsync("/public/reports", PublicForm(description, contact, notify, latOffset));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var token = (await r.Content.ReadFromJsonAsync<JsonElement>(Web)).GetProperty("token").GetString()!;
        await using var db = await Db(server);
        var report = await db.Reports.AsNoTracking().SingleAsync(x => x.Token == token);
        return (report.Id, report.CaseId!.Value, token);
    }

    private static Task<CivicLensDb> Db(TestServer server) => server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();

    private static async Task<List<OutboxMessage>> RowsAsync(TestServer server, string? channel = null)
    {
        await using var db = await Db(server);
        return await db.Outbox.AsNoTracking().Where(o => channel == null || o.Channel == channel).OrderBy(o => o.Id).ToListAsync();
    }

    private static async Task<int> VersionAsync(TestServer server, long caseId)
    {
        await using var db = await Db(server);
        return await db.Cases.Where(c => c.Id == caseId).Select(c => c.Version).SingleAsync();
    }

    private static async Task MoveAsync(TestServer server, long caseId, params string[] states)
    {
        var cases = server.Service<CaseService>();
        foreach (var state in states)
        {
            var result = await cases.TransitionAsync(caseId, state, await VersionAsync(server, caseId), state == "closed" ? "done" : null, "ops1", null, CancellationToken.None);
            Assert.True(result.Succeeded, $"{state}: {result.Problem}");
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Reopen_FixedCase_QueuesOneReopenedNoticeToItsDepartment_AndOtherMovesNone(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var (_, caseId, _) = await ReportAsync(server, "bags", null, notify: false);
        var opened = await RowsAsync(server);
        Assert.Equal([EmailChannel.ChannelName("sanitation")], opened.Select(o => o.Channel));

        await MoveAsync(server, caseId, "acknowledged", "in_progress", "fixed");
        Assert.Equal(opened.Count, (await RowsAsync(server)).Count);

        await MoveAsync(server, caseId, "in_progress");
        var rows = await RowsAsync(server);
        var reopened = Assert.Single(rows, o => DepartmentNotice.Parse(o.Payload)!.Kind == NoticeKinds.Reopened);
        Assert.Equal(EmailChannel.ChannelName("sanitation"), reopened.Channel);
        var notice = DepartmentNotice.Parse(reopened.Payload)!;
        Assert.Equal(caseId, notice.CaseId);
        Assert.Equal("reopened by ops1", notice.Reason);
        Assert.Equal(reopened.EventId, notice.Id);
        Assert.Equal(2, rows.Count);
    }

    [Fact]
    public async Task Merge_TellsTheSurvivorsDepartmentOfTheReportsAdded()
    {
        await using var server = await TestServer.StartAsync();
        var (_, first, _) = await ReportAsync(server, "bags", null, notify: false);
        var (_, second, _) = await ReportAsync(server, "more bags", null, notify: false, latOffset: 0.0001);
        var op = await server.StaffAsync(Roles.Operator);
        var merge = await op.PostAsJsonAsync($"/api/cases/{second}/merge", new { into = first, version = await VersionAsync(server, second) });
        Assert.Equal(HttpStatusCode.OK, merge.StatusCode);

        var added = Assert.Single(await RowsAsync(server), o => DepartmentNotice.Parse(o.Payload)!.Kind == NoticeKinds.ReportAdded);
        var notice = DepartmentNotice.Parse(added.Payload)!;
        Assert.Equal(first, notice.CaseId);
        Assert.Equal($"1 report(s) of case {second} added by operator-all", notice.Reason);
        await using var db = await Db(server);
        Assert.Equal(1, await db.Audit.CountAsync(a => a.Action == "case.merge" && a.Target == $"case:{second}"));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Fix_ReportersWhoAgreedWithAnEmail_GetOneQueuedMessageEach_EvenFromAMergedCase_AndNeverTwice(string provider)
    {
        await using var server = await TestServer.StartAsync(provider);
        var agreed = await ReportAsync(server, "Sofa by the bins, Jane Doe, flat 4", "jane@example.org", notify: true);
        var declined = await ReportAsync(server, "Bags", "bob@example.org", notify: false, 0.0001);
        var phone = await ReportAsync(server, "More bags", "+44 7700 900123", notify: true, 0.00005);
        var merged = await ReportAsync(server, "A mattress too", "sam@example.net", notify: true, 0.00008);
        var cases = server.Service<CaseService>();
        foreach (var other in new[] { declined, phone, merged })
        {
            Assert.True((await cases.MergeAsync(other.Case, agreed.Case, await VersionAsync(server, other.Case), "ops1", null, CancellationToken.None)).Succeeded);
        }

        // Merging closed three cases, but their reports moved: nobody is told of a merge.
        Assert.Empty(await RowsAsync(server, ReporterEmailChannel.ChannelName));
        await MoveAsync(server, agreed.Case, "in_progress");
        Assert.Empty(await RowsAsync(server, ReporterEmailChannel.ChannelName));

        await MoveAsync(server, agreed.Case, "fixed");
        var rows = await RowsAsync(server, ReporterEmailChannel.ChannelName);
        Assert.Equal([agreed.Report, merged.Report], rows.Select(o => ReporterUpdate.Parse(o.Payload)!.ReportId).Order());
        foreach (var row in rows)
        {
            var update = ReporterUpdate.Parse(row.Payload)!;
            Assert.Equal(row.EventId, update.Id);
            Assert.Equal(("Dumped rubbish", "fixed", agreed.Case), (update.CategoryName, update.Outcome, update.CaseId));
            // Nothing personal in the row: no address, no description, no token.
            foreach (var secret in new[] { "jane", "bob", "sam@", "7700", "Sofa", "Jane", "mattress", agreed.Token, merged.Token })
            {
                Assert.DoesNotContain(secret, row.Payload, StringComparison.OrdinalIgnoreCase);
            }
        }

        await using (var db = await Db(server))
        {
            var told = await db.Reports.AsNoTracking().Where(r => r.ReporterNotifiedAt != null).Select(r => r.Id).OrderBy(x => x).ToListAsync();
            Assert.Equal([agreed.Report, merged.Report], told);
            Assert.False(await db.Reports.Where(r => r.Id == phone.Report).Select(r => r.NotifyReporter).SingleAsync());
        }

        // Reopened, fixed again, closed: still one message each.
        await MoveAsync(server, agreed.Case, "in_progress", "fixed", "closed");
        Assert.Equal(2, (await RowsAsync(server, ReporterEmailChannel.ChannelName)).Count);
    }

    [Fact]
    public async Task Close_ByARemoteSystem_TellsTheReporterOnce_AndAClosedCaseCannotBeClosedAgain()
    {
        await using var server = await TestServer.StartAsync();
        var (report, caseId, _) = await ReportAsync(server, "bags", "jane@example.org", notify: true);
        var cases = server.Service<CaseService>();
        var closed = await cases.CloseAsync(caseId, "closed in the works system", "open311:works", CancellationToken.None);
        Assert.True(closed.Succeeded, closed.Problem);
        Assert.Equal(CaseStates.Closed, closed.Case!.State);
        var row = Assert.Single(await RowsAsync(server, ReporterEmailChannel.ChannelName));
        Assert.Equal((report, "closed"), (ReporterUpdate.Parse(row.Payload)!.ReportId, ReporterUpdate.Parse(row.Payload)!.Outcome));
        var again = await cases.CloseAsync(caseId, "again", "open311:works", CancellationToken.None);
        Assert.Equal(409, again.Status);
        Assert.Single(await RowsAsync(server, ReporterEmailChannel.ChannelName));
        await using var db = await Db(server);
        var history = await db.CaseChanges.Where(h => h.CaseId == caseId).Select(h => h.Change).ToListAsync();
        Assert.Contains("open -> closed: closed in the works system", history);
    }

    [Fact]
    public async Task ReporterMessage_ThroughARealMailServer_GoesToTheirAddressOnly_WithTheStatusLink()
    {
        await using var sink = await SmtpSink.StartAsync();
        await using var server = await TestServer.StartAsync(tweak: o => o with
        {
            Smtp = new SmtpTarget("127.0.0.1", sink.Port, "CivicLens <civiclens@city.example>", SmtpSecurity.None),
            PublicUrl = new Uri("https://report.city.example/"),
        }, configure: b => FastOutbox.Configure(b, TimeSpan.FromSeconds(5)));
        var jane = await ReportAsync(server, "Sofa, ring Jane at flat 4", "Jane Doe <jane@example.org>", notify: true);
        var sam = await ReportAsync(server, "A mattress", "sam@example.net", notify: true, 0.0001);
        Assert.True((await server.Service<CaseService>().MergeAsync(sam.Case, jane.Case, await VersionAsync(server, sam.Case), "ops1", null, CancellationToken.None)).Succeeded);

        await MoveAsync(server, jane.Case, "in_progress", "fixed");
        await Eventually.TrueAsync(async () => (await RowsAsync(server, ReporterEmailChannel.ChannelName)).All(r => r.DeliveredAt is not null), TimeSpan.FromSeconds(20),
            "both reporter messages delivered");

        // (The department's own notices go through the same mail server, to its address.)
        List<SinkMessage> ToReporters() => sink.Messages().Where(m => m.Recipients.Any(r => r is "jane@example.org" or "sam@example.net")).ToList();
        var mails = ToReporters();
        Assert.Equal(2, mails.Count);
        foreach (var (who, other) in new[] { (jane, "sam@example.net"), (sam, "jane@example.org") })
        {
            var address = who == jane ? "jane@example.org" : "sam@example.net";
            var received = Assert.Single(mails, m => m.Recipients.SequenceEqual([address]));
            using var mail = MimeMessage.Load(new MemoryStream(received.Data));
            Assert.Equal("Your report: Dumped rubbish at University plaza, Campus ward is fixed", mail.Subject);
            Assert.Contains($"https://report.city.example/status/{who.Token}", mail.TextBody, StringComparison.Ordinal);
            Assert.Contains("is fixed", mail.TextBody, StringComparison.Ordinal);
            // Nobody else's address, nor anyone's words, nor the other reporter's status link.
            foreach (var secret in new[] { other, "Sofa", "mattress", "flat 4", (who == jane ? sam : jane).Token })
            {
                Assert.DoesNotContain(secret, received.Text, StringComparison.OrdinalIgnoreCase);
            }
        }

        // Closing afterwards sends nothing more.
        await MoveAsync(server, jane.Case, "closed");
        var rounds = server.Service<OutboxStatus>().Rounds;
        await Eventually.TrueAsync(() => server.Service<OutboxStatus>().Rounds >= rounds + 5, TimeSpan.FromSeconds(20), "five more dispatch rounds");
        Assert.Equal(2, ToReporters().Count);
    }
}
