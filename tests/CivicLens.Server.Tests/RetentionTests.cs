using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Privacy.Retention;
using CivicLens.Server.Accounts;
using CivicLens.Server.Holds;
using CivicLens.Server.Hosting;
using CivicLens.Server.Retention;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Entities;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Server.Tests;

/// <summary>
/// Retention in the server, one test per kind of data, on a fake clock and on both databases: nothing personal
/// outlives its time, and nothing a legal hold names is lost. (Advancing the clock also wakes the hourly pass; either
/// may do the work, the outcome is the same, so the tests assert what is left, not the counts.)
/// </summary>
public sealed class RetentionTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class Fixture(TestServer server, FakeTimeProvider clock) : IAsyncDisposable
    {
        public TestServer Server { get; } = server;

        public FakeTimeProvider Clock { get; } = clock;

        public DateTimeOffset Now => Clock.GetUtcNow();

        public IDbContextFactory<CivicLensDb> Dbs => Server.Service<IDbContextFactory<CivicLensDb>>();

        public Task<RetentionPass> PurgeAsync() => Server.Service<RetentionService>().PurgeAsync(CancellationToken.None);

        public Task<HoldView> HoldAsync(string scope, string target, DateTimeOffset? from = null, DateTimeOffset? to = null) =>
            Server.Service<LegalHoldService>().CreateAsync(new HoldRequest(scope, target, "CASE-2026-118", "Claim against the city", Now.AddDays(400), from, to), "investigator1", null,
                CancellationToken.None);

        public async Task<long> CaseAsync(DateTimeOffset? closedAt)
        {
            await using var db = await Dbs.CreateDbContextAsync();
            var c = new CaseRecord
            {
                Title = "Broken lamp",
                Category = "streetlight",
                DepartmentId = "public-space",
                AreaId = "campus",
                State = closedAt is null ? "open" : "closed",
                OpenedAt = Now.AddDays(-200).ToUnixTimeMilliseconds(),
                ClosedAt = closedAt?.ToUnixTimeMilliseconds(),
            };
            c.History.Add(new CaseChange { At = c.OpenedAt, Actor = "system", Change = "opened" });
            db.Cases.Add(c);
            await db.SaveChangesAsync();
            return c.Id;
        }

        /// <summary>A report with one photo file on disk and, when asked, a (sealed-looking) contact.</summary>
        public async Task<(long Id, string Photo)> ReportAsync(long? caseId, DateTimeOffset submitted, bool contact = false, bool notify = false)
        {
            await using var db = await Dbs.CreateDbContextAsync();
            var file = Guid.NewGuid().ToString("N") + ".jpg";
            Directory.CreateDirectory(Server.Options.ReportPhotoDirectory);
            var path = Path.Combine(Server.Options.ReportPhotoDirectory, file);
            await File.WriteAllBytesAsync(path, [0xFF, 0xD8, 0xFF]);
            var r = new ReportRecord
            {
                Token = Guid.NewGuid().ToString("N"),
                Source = "public",
                Category = "streetlight",
                AreaId = "campus",
                SubmittedAt = submitted.ToUnixTimeMilliseconds(),
                CaseId = caseId,
                ContactSealed = contact ? "c2VhbGVk" : null,
                NotifyReporter = notify,
            };
            r.Photos.Add(new ReportPhoto { FileName = file, Sha256 = "00", Width = 1, Height = 1, Length = 3 });
            db.Reports.Add(r);
            await db.SaveChangesAsync();
            return (r.Id, path);
        }

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    private static async Task<Fixture> StartAsync(string provider, RetentionSettings? retention = null)
    {
        var clock = new FakeTimeProvider(Start);
        // The test drives every pass itself: the server's own pass at start, running while a test sets up its rows,
        // would purge what a hold placed a moment later was meant to keep.
        var server = await TestServer.StartAsync(provider, o => retention is null ? o : o with { Retention = retention }, b =>
        {
            b.Services.AddSingleton<TimeProvider>(clock);
            b.Services.AddSingleton<IJobDuty>(new NoJobs());
        });
        return new Fixture(server, clock);
    }

    private sealed class NoJobs : IJobDuty
    {
        public bool RunsJobs => false;
    }

    [Fact]
    public async Task Purge_EventsCasesSnapshots_GoAfterTheirRetention_ImportedFileHoldKeepsItsEvent_AndAudits()
    {
        await using var f = await StartAsync(nameof(StorageProvider.Sqlite));
        var server = f.Server;
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        var now = f.Now;
        Guid oldLoose = Guid.NewGuid(), oldHeld = Guid.NewGuid(), oldCased = Guid.NewGuid(), recent = Guid.NewGuid(), closedCaseEvent = Guid.NewGuid();
        object E(Guid id, DateTimeOffset at) => new { id, kind = "zone.entry", phase = "instant", camera = "vtest", rule = "works-area-entry", category = "works-safety", at };
        (await node.PostAsJsonAsync("/api/ingest/events", new
        {
            events = new[] { E(oldLoose, now.AddDays(-400)), E(oldHeld, now.AddDays(-400)), E(oldCased, now.AddDays(-400)), E(recent, now.AddDays(-3)), E(closedCaseEvent, now.AddDays(-10)) },
        })).EnsureSuccessStatusCode();

        var op = await server.StaffAsync(Roles.Operator);
        (await op.PostAsJsonAsync($"/api/events/{oldCased}/case", new { title = "Open case keeps its event" })).EnsureSuccessStatusCode();
        var closing = await (await op.PostAsJsonAsync($"/api/events/{closedCaseEvent}/case", new { title = "Closed case" })).Content.ReadFromJsonAsync<JsonElement>();
        (await op.PostAsJsonAsync($"/api/cases/{closing.GetProperty("id").GetInt64()}/transition", new { state = "closed", version = closing.GetProperty("version").GetInt32() }))
            .EnsureSuccessStatusCode();

        // Evidence: one snapshot past the camera's 30 days, one recent; a hold on one old event in the old hand-written file.
        var snapshots = server.Options.SnapshotDirectory;
        var oldFile = Path.Combine(snapshots, "vtest-old.jpg");
        var newFile = Path.Combine(snapshots, "vtest-new.jpg");
        await File.WriteAllBytesAsync(oldFile, [1, 2, 3]);
        await File.WriteAllBytesAsync(newFile, [1, 2, 3]);
        File.SetLastWriteTimeUtc(oldFile, now.AddDays(-31).UtcDateTime);
        File.SetLastWriteTimeUtc(newFile, now.AddDays(-1).UtcDateTime);
        new EvidenceRetention(snapshots, TimeSpan.FromDays(30), f.Clock).Hold(new LegalHold("CASE-2026-118", now.AddDays(90), [oldHeld]));

        await f.PurgeAsync();
        Assert.False(File.Exists(oldFile));
        Assert.True(File.Exists(newFile));
        // The file was taken into the store once and set aside.
        Assert.False(File.Exists(Path.Combine(snapshots, EvidenceRetention.HoldsFile)));
        Assert.True(File.Exists(Path.Combine(snapshots, EvidenceRetention.HoldsFile + LegalHoldService.ImportedSuffix)));
        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            var imported = await db.LegalHolds.SingleAsync();
            Assert.Equal(("event", oldHeld.ToString("D"), "CASE-2026-118"), (imported.Scope, imported.Target, imported.CaseReference));
            var left = await db.Events.Select(e => e.Id).ToListAsync();
            Assert.DoesNotContain(oldLoose, left);
            Assert.Contains(oldHeld, left);
            Assert.Contains(oldCased, left);
            Assert.Contains(recent, left);
            Assert.Contains(closedCaseEvent, left);
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "retention.purge" && EF.Functions.Like(a.Detail!, "1 snapshots, 1 events%")));
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "hold.import"));
        }

        // Two years on, the closed case goes with its event; the open case stays; the expired hold no longer protects.
        f.Clock.Advance(TimeSpan.FromDays(731));
        await f.PurgeAsync();
        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            var left = await db.Events.Select(e => e.Id).ToListAsync();
            Assert.Equal([oldCased], left);
            Assert.Equal(1, await db.Cases.CountAsync());
            Assert.Equal("open", (await db.Cases.SingleAsync()).State);
            Assert.True(await db.Audit.AnyAsync(a => a.Action == "retention.purge" && EF.Functions.Like(a.Detail!, "%, 1 closed cases%")));
        }
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Reports_GoWithTheirPhotos90DaysAfterTheCaseClosed_OrAfterSubmissionWithoutCase_HeldStay(string provider)
    {
        await using var f = await StartAsync(provider);
        var closedLongAgo = await f.CaseAsync(f.Now.AddDays(-91));
        var closedRecently = await f.CaseAsync(f.Now.AddDays(-89));
        var open = await f.CaseAsync(null);
        var heldCase = await f.CaseAsync(f.Now.AddDays(-120));
        var gone = await f.ReportAsync(closedLongAgo, f.Now.AddDays(-200));
        var young = await f.ReportAsync(closedRecently, f.Now.AddDays(-200));
        var working = await f.ReportAsync(open, f.Now.AddDays(-500));
        var orphanOld = await f.ReportAsync(null, f.Now.AddDays(-91));
        var orphanNew = await f.ReportAsync(null, f.Now.AddDays(-10));
        var heldOrphan = await f.ReportAsync(null, f.Now.AddDays(-300));
        var inHeldCase = await f.ReportAsync(heldCase, f.Now.AddDays(-300));
        await f.HoldAsync(HoldScopes.Report, heldOrphan.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await f.HoldAsync(HoldScopes.Case, heldCase.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await f.PurgeAsync();

        await using var db = await f.Dbs.CreateDbContextAsync();
        var left = await db.Reports.Select(r => r.Id).ToListAsync();
        Assert.Equal(new[] { young.Id, working.Id, orphanNew.Id, heldOrphan.Id, inHeldCase.Id }.Order(), left.Order());
        Assert.Equal(5, await db.ReportPhotos.CountAsync());
        Assert.False(File.Exists(gone.Photo));
        Assert.False(File.Exists(orphanOld.Photo));
        Assert.All(new[] { young, working, orphanNew, heldOrphan, inHeldCase }, r => Assert.True(File.Exists(r.Photo)));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task Contacts_GoWhenTheCaseCloses_Or30DaysAfterAReportWithoutCase_ThePromisedNoticeGetsItsGrace_HeldStay(string provider)
    {
        await using var f = await StartAsync(provider);
        var closed = await f.CaseAsync(f.Now.AddHours(-2));
        var open = await f.CaseAsync(null);
        var heldCase = await f.CaseAsync(f.Now.AddDays(-1));
        var closedCase = await f.ReportAsync(closed, f.Now.AddDays(-5), contact: true);
        var awaitingNotice = await f.ReportAsync(closed, f.Now.AddDays(-5), contact: true, notify: true);
        var openCase = await f.ReportAsync(open, f.Now.AddDays(-300), contact: true, notify: true);
        var noCaseOld = await f.ReportAsync(null, f.Now.AddDays(-31), contact: true);
        var noCaseNew = await f.ReportAsync(null, f.Now.AddDays(-29), contact: true);
        var held = await f.ReportAsync(heldCase, f.Now.AddDays(-5), contact: true);
        await f.HoldAsync(HoldScopes.Case, heldCase.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await f.PurgeAsync();
        async Task<ReportRecord> Row(long id)
        {
            await using var db = await f.Dbs.CreateDbContextAsync();
            return await db.Reports.AsNoTracking().SingleAsync(r => r.Id == id);
        }

        static void Gone(ReportRecord r)
        {
            Assert.Null(r.ContactSealed);
            Assert.False(r.NotifyReporter);
            Assert.NotNull(r.ContactDeletedAt);
        }

        static void Kept(ReportRecord r)
        {
            Assert.NotNull(r.ContactSealed);
            Assert.Null(r.ContactDeletedAt);
        }

        Gone(await Row(closedCase.Id));
        Gone(await Row(noCaseOld.Id));
        Kept(await Row(awaitingNotice.Id));
        Kept(await Row(openCase.Id));
        Kept(await Row(noCaseNew.Id));
        Kept(await Row(held.Id));
        Assert.Equal(f.Now.ToUnixTimeMilliseconds(), (await Row(closedCase.Id)).ContactDeletedAt);

        // The notice went out: the contact goes at the next pass. Eight days on, an unsent notice no longer keeps one either.
        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            await db.Reports.Where(r => r.Id == awaitingNotice.Id).ExecuteUpdateAsync(u => u.SetProperty(r => r.ReporterNotifiedAt, f.Now.ToUnixTimeMilliseconds()));
        }

        var unsent = await f.ReportAsync(closed, f.Now.AddDays(-5), contact: true, notify: true);
        await f.PurgeAsync();
        Gone(await Row(awaitingNotice.Id));
        Kept(await Row(unsent.Id));
        f.Clock.Advance(TimeSpan.FromDays(8));
        await f.PurgeAsync();
        Gone(await Row(unsent.Id));
        Kept(await Row(held.Id));
        // The reports themselves stay (their own retention runs from the case's close).
        Assert.NotNull(await Row(closedCase.Id));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task DeletedCase_TakesItsReportsPhotosHistorySuggestionsEventsAndTheirViews_AHeldOneKeepsAll(string provider)
    {
        // Reports kept longer than their cases, so it is the case's deletion that must take them.
        await using var f = await StartAsync(provider, new RetentionSettings { ReportsAfterCaseClosed = TimeSpan.FromDays(3000) });
        // Closed long enough ago for the closed-case retention (730 days), and a held twin.
        var old = await f.CaseAsync(f.Now.AddDays(-731));
        var held = await f.CaseAsync(f.Now.AddDays(-731));
        var other = await f.CaseAsync(null);
        var oldEvent = Guid.NewGuid();
        var heldEvent = Guid.NewGuid();
        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            EventRecord E(Guid id, long caseId) => new()
            {
                Id = id,
                Kind = "zone.entry",
                Phase = "instant",
                CameraId = "vtest",
                Rule = "works-area-entry",
                Category = "works-safety",
                AreaId = "campus",
                At = f.Now.AddDays(-800).ToUnixTimeMilliseconds(),
                CaseId = caseId,
                State = "cased",
            };
            db.Events.AddRange(E(oldEvent, old), E(heldEvent, held));
            db.EventEvidence.AddRange(new EventEvidence { EventId = oldEvent, CameraId = "river-cam", Snapshot = "river-cam-1.jpg", At = 1 },
                new EventEvidence { EventId = heldEvent, CameraId = "river-cam", Snapshot = "river-cam-2.jpg", At = 1 });
            db.CaseSuggestions.AddRange(new CaseSuggestion { CaseId = other, TargetCaseId = old }, new CaseSuggestion { CaseId = other, TargetCaseId = held });
            await db.SaveChangesAsync();
        }

        // The reports' own retention would take them anyway; a report must not outlive its case in any order.
        var oldReport = await f.ReportAsync(old, f.Now.AddDays(-800), contact: true);
        var heldReport = await f.ReportAsync(held, f.Now.AddDays(-800), contact: true);
        await f.HoldAsync(HoldScopes.Event, heldEvent.ToString());

        await f.PurgeAsync();

        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            Assert.Equal(new[] { held, other }.Order(), (await db.Cases.Select(c => c.Id).ToListAsync()).Order());
            Assert.Equal([heldEvent], await db.Events.Select(e => e.Id).ToListAsync());
            Assert.Equal([heldEvent], await db.EventEvidence.Select(e => e.EventId).ToListAsync());
            Assert.Equal([heldReport.Id], await db.Reports.Select(r => r.Id).ToListAsync());
            Assert.Equal(0, await db.CaseChanges.CountAsync(h => h.CaseId == old));
            Assert.Equal(1, await db.CaseChanges.CountAsync(h => h.CaseId == held));
            Assert.Equal([held], await db.CaseSuggestions.Select(s => s.TargetCaseId).ToListAsync());
            Assert.NotNull((await db.Reports.SingleAsync()).ContactSealed);
        }

        Assert.False(File.Exists(oldReport.Photo));
        Assert.True(File.Exists(heldReport.Photo));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task LooseEvents_GoWithTheirViewsAndSnapshots_ACameraSpanHoldKeepsWhatFallsInIt(string provider)
    {
        await using var f = await StartAsync(provider);
        var inSpan = Guid.NewGuid();
        var outside = Guid.NewGuid();
        var orphanOld = Guid.NewGuid();
        var orphanNew = Guid.NewGuid();
        var at = f.Now.AddDays(-400);
        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            EventRecord E(Guid id, DateTimeOffset t) => new()
            {
                Id = id,
                Kind = "zone.entry",
                Phase = "instant",
                CameraId = "vtest",
                Rule = "works-area-entry",
                Category = "works-safety",
                AreaId = "campus",
                At = t.ToUnixTimeMilliseconds(),
                State = "new",
            };
            db.Events.AddRange(E(inSpan, at), E(outside, at.AddDays(-2)));
            db.EventEvidence.AddRange(new EventEvidence { EventId = inSpan, CameraId = "vtest", Snapshot = "a.jpg", At = 1 },
                new EventEvidence { EventId = outside, CameraId = "vtest", Snapshot = "b.jpg", At = 1 },
                // Views whose event never arrived: the old one goes at the event retention, the recent one waits.
                new EventEvidence { EventId = orphanOld, CameraId = "vtest", Snapshot = "c.jpg", At = at.ToUnixTimeMilliseconds() },
                new EventEvidence { EventId = orphanNew, CameraId = "vtest", Snapshot = "d.jpg", At = f.Now.ToUnixTimeMilliseconds() },
                // One view file serving two events is named after the first (here the unheld one): the held one keeps it.
                new EventEvidence { EventId = inSpan, CameraId = "vtest", Snapshot = $"vtest-0000004-{outside.ToString("N")[..8]}-site.jpg", At = 1 });
            await db.SaveChangesAsync();
        }

        var snapshots = f.Server.Options.SnapshotDirectory;
        Directory.CreateDirectory(snapshots);
        var heldFile = Path.Combine(snapshots, $"vtest-0000001-{inSpan.ToString("N")[..8]}.jpg");
        var spanFile = Path.Combine(snapshots, "vtest-0000002-site.jpg");
        var goneFile = Path.Combine(snapshots, $"vtest-0000003-{outside.ToString("N")[..8]}.jpg");
        var sharedView = Path.Combine(snapshots, $"vtest-0000004-{outside.ToString("N")[..8]}-site.jpg");
        foreach (var (file, t) in new[] { (heldFile, at), (spanFile, at.AddMinutes(5)), (goneFile, at.AddDays(-2)), (sharedView, at.AddDays(-2)) })
        {
            await File.WriteAllBytesAsync(file, [1]);
            File.SetLastWriteTimeUtc(file, t.UtcDateTime);
        }

        await f.HoldAsync(HoldScopes.Camera, "vtest", at.AddHours(-1), at.AddHours(1));
        await f.PurgeAsync();

        await using (var db = await f.Dbs.CreateDbContextAsync())
        {
            Assert.Equal([inSpan], await db.Events.Select(e => e.Id).ToListAsync());
            Assert.Equal(new[] { inSpan, inSpan, orphanNew }.Order(), (await db.EventEvidence.Select(e => e.EventId).ToListAsync()).Order());
        }

        Assert.True(File.Exists(heldFile));
        Assert.True(File.Exists(spanFile));
        Assert.False(File.Exists(goneFile));
        Assert.True(File.Exists(sharedView));
    }

    [Theory]
    [MemberData(nameof(TestDatabase.Providers), MemberType = typeof(TestDatabase))]
    public async Task AuditRecords_AreTrimmedAfterSixYears_AndTheLogStillVerifies(string provider)
    {
        await using var f = await StartAsync(provider);
        var log = f.Server.Service<AuditLog>();
        await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "early"), CancellationToken.None);
        f.Clock.Advance(TimeSpan.FromDays(6 * 365 + 3));
        await log.AppendAsync(new AuditEntry("ops1", "event.view", "ok", "late"), CancellationToken.None);

        await f.PurgeAsync();

        await using var db = await f.Dbs.CreateDbContextAsync();
        Assert.False(await db.Audit.AnyAsync(a => a.Target == "early"));
        Assert.True(await db.Audit.AnyAsync(a => a.Target == "late"));
        Assert.True(await db.AuditTrims.AnyAsync());
        var verified = await log.VerifyAsync(CancellationToken.None);
        Assert.True(verified.Intact, verified.Problem);
    }

    [Fact]
    public async Task SealedOriginals_AreDestroyedAfter72Hours_AHeldEventsStays()
    {
        using var keys = new TempDirectory();
        var keyPath = Path.Combine(keys.Path, "sealing.key");
        CivicLens.Privacy.Sealed.SealingKey.Create(keyPath).Dispose();
        var clock = new FakeTimeProvider(Start);
        await using var server = await TestServer.StartAsync(
            tweak: o => o with { SealedOriginals = new CivicLens.Pipeline.SealedOriginalsSettings(Path.Combine(o.DataDirectory, "sealed"), keyPath, TimeSpan.FromHours(72)) },
            configure: b => b.Services.AddSingleton<TimeProvider>(clock));
        var f = new Fixture(server, clock);
        Guid held = Guid.NewGuid(), loose = Guid.NewGuid();
        var store = server.Service<CivicLens.Privacy.Sealed.SealedOriginalStore>();
        store.Seal(held, new byte[4 * 4 * 3], 4, 4);
        store.Seal(loose, new byte[4 * 4 * 3], 4, 4);
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        object E(Guid id) => new { id, kind = "zone.entry", phase = "instant", camera = "vtest", rule = "works-area-entry", category = "works-safety", at = Start };
        (await node.PostAsJsonAsync("/api/ingest/events", new { events = new[] { E(held), E(loose) } })).EnsureSuccessStatusCode();
        await f.HoldAsync(HoldScopes.Event, held.ToString());

        clock.Advance(TimeSpan.FromHours(73));
        await f.PurgeAsync();
        var dir = Path.Combine(server.Options.DataDirectory, "sealed");
        Assert.True(File.Exists(Path.Combine(dir, held.ToString("N") + ".sealed")));
        Assert.False(File.Exists(Path.Combine(dir, loose.ToString("N") + ".sealed")));
    }

    [Fact]
    public void Settings_ParseKindEqualsDays_RefuseUnknownKindsAndBadNumbers()
    {
        var settings = RetentionSettings.Parse(["reports=120", "audit=3650", "contacts=14"]);
        Assert.Equal(TimeSpan.FromDays(120), settings.ReportsAfterCaseClosed);
        Assert.Equal(TimeSpan.FromDays(3650), settings.AuditRecords);
        Assert.Equal(TimeSpan.FromDays(14), settings.ContactsWithoutCase);
        Assert.Equal(TimeSpan.FromDays(90), settings.ReportsWithoutCase);
        Assert.Contains("unknown kind 'photos'", Assert.Throws<ArgumentException>(() => RetentionSettings.Parse(["photos=10"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => RetentionSettings.Parse(["reports=0"]));
        Assert.Throws<ArgumentException>(() => RetentionSettings.Parse(["reports"]));
    }
}
