using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Server.Tests;

/// <summary>Legal holds through the API: placed, validated, shown on the held items, extended and released, each audited.</summary>
public sealed class LegalHoldTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Holds_PlaceShowExtendRelease_ValidatedAudited_AndOnlyForInvestigatorsAndAdmins()
    {
        var clock = new FakeTimeProvider(Start);
        await using var server = await TestServer.StartAsync(configure: b => b.Services.AddSingleton<TimeProvider>(clock));
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        var eventId = Guid.NewGuid();
        (await node.PostAsJsonAsync("/api/ingest/events", new
        {
            events = new[] { new { id = eventId, kind = "zone.entry", phase = "instant", camera = "vtest", rule = "works-area-entry", category = "works-safety", at = Start.AddHours(-1) } },
        })).EnsureSuccessStatusCode();
        var op = await server.StaffAsync(Roles.Operator);
        var opened = await (await op.PostAsJsonAsync($"/api/events/{eventId}/case", new { title = "Fall at the works" })).Content.ReadFromJsonAsync<JsonElement>();
        var caseId = opened.GetProperty("id").GetInt64();

        var investigator = await server.StaffAsync(Roles.Investigator);
        var expires = Start.AddDays(180);

        // Refused, each problem named: no reference, no reason, an expiry in the past, a target that does not exist.
        var bad = await investigator.PostAsJsonAsync("/api/holds", new { scope = "case", target = "424242", caseReference = " ", reason = "", expiresAt = Start.AddDays(-1) });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("caseReference", out _));
        Assert.True(errors.TryGetProperty("reason", out _));
        Assert.True(errors.TryGetProperty("expiresAt", out _));
        var missing = await investigator.PostAsJsonAsync("/api/holds", new { scope = "case", target = "424242", caseReference = "CR-1", reason = "Claim", expiresAt = expires });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("target", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var spanless = await investigator.PostAsJsonAsync("/api/holds", new { scope = "camera", target = "vtest", caseReference = "CR-1", reason = "Claim", expiresAt = expires });
        Assert.Equal(HttpStatusCode.BadRequest, spanless.StatusCode);

        // Placed on the case: the case, its event show it; the viewer sees "held" but not the reason.
        var placed = await investigator.PostAsJsonAsync("/api/holds", new
        {
            scope = "case",
            target = caseId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            caseReference = "POLICE-2026-881",
            reason = "Injury claim against the city",
            expiresAt = expires
        });
        Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        var hold = await placed.Content.ReadFromJsonAsync<JsonElement>();
        var holdId = hold.GetProperty("id").GetInt64();
        Assert.True(hold.GetProperty("active").GetBoolean());
        var viewer = await server.StaffAsync(Roles.Viewer);
        var caseView = await viewer.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        var badge = Assert.Single(caseView.GetProperty("holds").EnumerateArray());
        Assert.Equal("POLICE-2026-881", badge.GetProperty("caseReference").GetString());
        Assert.False(badge.TryGetProperty("reason", out _));
        long reportId;
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            var report = new CivicLens.Storage.Entities.ReportRecord { Token = "t-held", Source = "staff", Category = "works-safety", AreaId = "campus", CaseId = caseId };
            db.Reports.Add(report);
            await db.SaveChangesAsync();
            reportId = report.Id;
        }

        var reportView = await viewer.GetFromJsonAsync<JsonElement>($"/api/reports/{reportId}");
        Assert.Equal(holdId, Assert.Single(reportView.GetProperty("holds").EnumerateArray()).GetProperty("id").GetInt64());
        var eventView = await viewer.GetFromJsonAsync<JsonElement>($"/api/events/{eventId}");
        Assert.Equal(holdId, Assert.Single(eventView.GetProperty("holds").EnumerateArray()).GetProperty("id").GetInt64());

        // Only investigators and admins reach the holds.
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/holds")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await op.PostAsJsonAsync($"/api/holds/{holdId}/release", new { reason = "done" })).StatusCode);
        var admin = await server.AdminAsync();
        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/holds");
        Assert.Equal("Injury claim against the city", Assert.Single(listed.EnumerateArray()).GetProperty("reason").GetString());

        // Extended only later; released with a reason, once.
        Assert.Equal(HttpStatusCode.BadRequest, (await investigator.PostAsJsonAsync($"/api/holds/{holdId}/extend", new { expiresAt = Start.AddDays(10), reason = "shorter" })).StatusCode);
        var extended = await investigator.PostAsJsonAsync($"/api/holds/{holdId}/extend", new { expiresAt = Start.AddDays(365), reason = "Trial date moved" });
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        Assert.Equal(Start.AddDays(365), (await extended.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync("/api/holds/999999/release", new { reason = "x" })).StatusCode);
        var released = await admin.PostAsJsonAsync($"/api/holds/{holdId}/release", new { reason = "Claim settled" });
        Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync($"/api/holds/{holdId}/release", new { reason = "again" })).StatusCode);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("/api/holds")).EnumerateArray());
        Assert.Single((await admin.GetFromJsonAsync<JsonElement>("/api/holds?all=true")).EnumerateArray());
        Assert.False((await viewer.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}")).TryGetProperty("holds", out var none) && none.GetArrayLength() > 0);

        await using var store = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var audit = await store.Audit.Where(a => a.Target == "hold:" + holdId).OrderBy(a => a.Seq).Select(a => new { a.Actor, a.Action }).ToListAsync();
        Assert.Equal(["hold.create", "hold.extend", "hold.release"], audit.Select(a => a.Action).ToArray());
        Assert.Equal(["investigator-all", "investigator-all", "admin"], audit.Select(a => a.Actor).ToArray());
        var row = await store.LegalHolds.SingleAsync();
        Assert.Equal(("admin", "Claim settled"), (row.ReleasedBy, row.ReleaseReason));
    }
}
