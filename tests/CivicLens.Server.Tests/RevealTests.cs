using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Pipeline;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Accounts;
using CivicLens.Storage;
using CivicLens.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CivicLens.Server.Tests;

/// <summary>Sealed originals through the server: investigator only, with a case reference and reason, time-limited, audited in the chain.</summary>
public sealed class RevealTests
{
    [Fact]
    public async Task Reveal_NeedsReasonAndRole_ExpiresAfterFifteenMinutes_AndEveryStepIsAudited()
    {
        using var keys = new TempDirectory();
        var keyPath = Path.Combine(keys.Path, "sealing.key");
        SealingKey.Create(keyPath).Dispose();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var server = await TestServer.StartAsync(
            tweak: o => o with { SealedOriginals = new SealedOriginalsSettings(Path.Combine(o.DataDirectory, "sealed"), keyPath, TimeSpan.FromHours(72)) },
            configure: b => b.Services.AddSingleton<TimeProvider>(clock));

        // The pipeline seals the frame of an event; here a small real image stands in for it.
        var id = Guid.NewGuid();
        var rgb = new byte[64 * 48 * 3];
        for (var i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 7);
        server.Service<SealedOriginalStore>().Seal(id, rgb, 64, 48);
        var node = server.Client();
        node.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("ApiKey", await server.ApiKeyAsync());
        (await node.PostAsJsonAsync("/api/ingest/events", new
        {
            events = new[] { new { id, kind = "zone.entry", phase = "instant", camera = "vtest", rule = "works-area-entry", category = "works-safety", at = clock.GetUtcNow() } },
        })).EnsureSuccessStatusCode();

        var viewer = await server.StaffAsync(Roles.Viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/events/{id}/reveal", new { caseReference = "CASE-1", reason = "a reason long enough to pass" })).StatusCode);

        var investigator = await server.StaffAsync(Roles.Investigator);
        var noReason = await investigator.PostAsJsonAsync($"/api/events/{id}/reveal", new { caseReference = "CASE-2026-041" });
        Assert.Equal(HttpStatusCode.Forbidden, noReason.StatusCode);
        Assert.Contains("reason", await noReason.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        var asked = await investigator.PostAsJsonAsync($"/api/events/{id}/reveal",
            new { caseReference = "CASE-2026-041", reason = "Prosecutor requests the unredacted frame of the intrusion into the works area" });
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        var grant = (await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var original = await investigator.GetAsync($"/api/reveals/{grant}/original");
        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal("image/jpeg", original.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", original.Headers.CacheControl?.ToString());
        var bytes = await original.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[] { 0xFF, 0xD8 }, bytes[..2]);

        // Another investigator cannot use the grant; after 15 minutes nobody can.
        var other = await server.StaffAsync(Roles.Investigator, "campus");
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync($"/api/reveals/{grant}/original")).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(16));
        var expired = await investigator.GetAsync($"/api/reveals/{grant}/original");
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        var reveals = await db.Audit.Where(a => a.Action.StartsWith("reveal")).OrderBy(a => a.Seq).Select(a => new { a.Action, a.Outcome, a.Actor }).ToListAsync();
        Assert.Contains(reveals, r => r.Action == "reveal.request" && r.Outcome == "refused");
        Assert.Contains(reveals, r => r.Action == "reveal.request" && r.Outcome == "ok");
        Assert.Single(reveals, r => r.Action == "reveal" && r.Outcome == "ok");
        Assert.Equal(2, reveals.Count(r => r.Action == "reveal" && r.Outcome == "refused"));
        Assert.True((await server.Service<CivicLens.Storage.Audit.AuditLog>().VerifyAsync(CancellationToken.None)).Intact);
    }

    [Fact]
    public async Task Reveal_WithoutSealedOriginals_IsNotFound()
    {
        await using var server = await TestServer.StartAsync();
        var investigator = await server.StaffAsync(Roles.Investigator);
        var r = await investigator.PostAsJsonAsync($"/api/events/{Guid.NewGuid()}/reveal", new { caseReference = "CASE-1", reason = "a reason long enough to pass the rule" });
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
    }
}
