using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

/// <summary>
/// OpenID Connect login against a real provider on another loopback port: the browser's redirects are followed by
/// hand across the two servers, so the state, nonce, PKCE and signature checks all run for real.
/// </summary>
public sealed class OidcTests
{
    private static readonly Dictionary<string, string> RoleMap = new()
    {
        ["city-admins"] = "admin",
        ["city-operators"] = "operator",
        ["city-viewers"] = "viewer",
    };

    private static Task<TestServer> StartAsync(TestOidcProvider idp) => TestServer.StartAsync(tweak: o => o with
    {
        Oidc = new OidcSettings
        {
            Authority = idp.Authority,
            ClientId = TestOidcProvider.ClientId,
            ClientSecret = TestOidcProvider.ClientSecret,
            RoleClaim = "groups",
            RoleMap = RoleMap,
            AreaClaim = "areas",
        },
    });

    /// <summary>Login page → provider → callback; returns the callback's answer (a redirect on success).</summary>
    private static async Task<HttpResponseMessage> LoginAsync(HttpClient browser, TestOidcProvider idp, string returnUrl = "/api/auth/me")
    {
        var start = await browser.GetAsync($"/api/auth/oidc/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
        Assert.Equal(HttpStatusCode.Found, start.StatusCode);
        var authorize = start.Headers.Location!;
        Assert.StartsWith(idp.Authority.ToString().TrimEnd('/') + "/authorize", authorize.ToString(), StringComparison.Ordinal);
        var approved = await idp.Browser.GetAsync(authorize);
        Assert.True(approved.StatusCode == HttpStatusCode.Redirect, $"provider: {(int)approved.StatusCode} {await approved.Content.ReadAsStringAsync()}");
        var callback = approved.Headers.Location!;
        Assert.Equal("/api/auth/oidc/callback", callback.AbsolutePath);
        return await browser.GetAsync(callback);
    }

    private static async Task<List<Storage.Entities.AuditRecord>> LoginAuditAsync(TestServer server)
    {
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        return await db.Audit.Where(a => a.Action == "login").OrderBy(a => a.Seq).ToListAsync();
    }

    [Fact]
    public async Task Login_AdminGroupWithMfa_GetsASessionLikeALocalAdmin()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        idp.User = new TestIdpUser("sub-ada", "ada", ["staff", "city-admins"], ["pwd", "mfa"]);
        var browser = server.Client();

        var callback = await LoginAsync(browser, idp);

        Assert.True(callback.StatusCode == HttpStatusCode.Redirect, $"callback: {(int)callback.StatusCode} {await callback.Content.ReadAsStringAsync()}");
        Assert.Equal("/api/auth/me", callback.Headers.Location!.OriginalString);
        Assert.Equal("S256", idp.LastAuthorize!["code_challenge_method"]);
        Assert.Equal("code", idp.LastAuthorize!["response_type"]);
        var me = await browser.GetFromJsonAsync<JsonElement>("/api/auth/me");
        Assert.Equal("admin", me.GetProperty("role").GetString());
        var name = me.GetProperty("userName").GetString()!;
        Assert.Equal($"ada@{idp.Authority.Host}", name);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/users")).StatusCode);
        var ok = Assert.Single(await LoginAuditAsync(server), a => a.Outcome == "ok");
        Assert.Equal(name, ok.Actor);
        Assert.Equal("oidc+mfa", ok.Detail);

        // The provider's account has no local password, and the local admin still logs in beside it.
        var local = await server.Client().PostAsJsonAsync("/api/auth/login", new { userName = name, password = "" });
        Assert.Equal(HttpStatusCode.Unauthorized, local.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await (await server.AdminAsync()).GetAsync("/api/users")).StatusCode);

        // A second login is the same account, not a new one.
        Assert.Equal(HttpStatusCode.Redirect, (await LoginAsync(server.Client(), idp)).StatusCode);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(1, await db.Users.CountAsync(u => u.ExternalLogin != null));
    }

    [Fact]
    public async Task Login_OperatorWithoutMfa_IsRefusedAndAudited()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        idp.User = new TestIdpUser("sub-otto", "otto", ["city-operators"], ["pwd"]);
        var browser = server.Client();

        var callback = await LoginAsync(browser, idp);

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Contains("second factor", await callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
        var refused = Assert.Single(await LoginAuditAsync(server), a => a.Outcome == "refused");
        Assert.Equal($"otto@{idp.Authority.Host}", refused.Actor);
        Assert.Contains("second factor", refused.Detail, StringComparison.Ordinal);
        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.False(await db.Users.AnyAsync(u => u.ExternalLogin != null));
    }

    [Fact]
    public async Task Login_GroupMappedToNothing_IsRefused()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        idp.User = new TestIdpUser("sub-nora", "nora", ["library-staff"], ["pwd", "mfa"]);
        var browser = server.Client();

        var callback = await LoginAsync(browser, idp);

        Assert.Equal(HttpStatusCode.Forbidden, callback.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
        var refused = Assert.Single(await LoginAuditAsync(server), a => a.Outcome == "refused");
        Assert.Contains("maps to a CivicLens role", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_ViewerWithAreas_IsScoped_AndRoleAndAreasFollowTheProvider()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        idp.User = new TestIdpUser("sub-vic", "vic@city.example", ["city-viewers"], ["pwd"], ["campus"]);
        var first = server.Client();

        Assert.Equal(HttpStatusCode.Redirect, (await LoginAsync(first, idp)).StatusCode);

        var me = await first.GetFromJsonAsync<JsonElement>("/api/auth/me");
        Assert.Equal("vic@city.example", me.GetProperty("userName").GetString());
        Assert.Equal("viewer", me.GetProperty("role").GetString());
        Assert.Equal(["campus"], me.GetProperty("areas").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await first.GetAsync("/api/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/api/events")).StatusCode);

        // The provider moves the user to another area: the next login carries it, and the older session ends.
        idp.User = idp.User with { Areas = ["riverside"] };
        var second = server.Client();
        Assert.Equal(HttpStatusCode.Redirect, (await LoginAsync(second, idp)).StatusCode);
        me = await second.GetFromJsonAsync<JsonElement>("/api/auth/me");
        Assert.Equal(["riverside"], me.GetProperty("areas").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(HttpStatusCode.Unauthorized, (await first.GetAsync("/api/auth/me")).StatusCode);

        // The provider sends no areas at all: refused rather than shown the whole district (fail closed).
        idp.User = idp.User with { Areas = [] };
        var unscoped = server.Client();
        Assert.Equal(HttpStatusCode.Forbidden, (await LoginAsync(unscoped, idp)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await unscoped.GetAsync("/api/auth/me")).StatusCode);
        Assert.Contains(await LoginAuditAsync(server), a => a.Outcome == "refused" && a.Detail!.Contains("without areas", StringComparison.Ordinal));
        idp.User = idp.User with { Areas = ["riverside"] };

        // Disabled locally: the provider's approval no longer opens a session.
        var admin = await server.AdminAsync();
        long id;
        await using (var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync())
        {
            id = await db.Users.Where(u => u.ExternalLogin != null).Select(u => u.Id).SingleAsync();
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/users/{id}/disable", null)).StatusCode);
        var third = server.Client();
        var refused = await LoginAsync(third, idp);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await third.GetAsync("/api/auth/me")).StatusCode);
        Assert.Contains(await LoginAuditAsync(server), a => a.Outcome == "refused" && a.Detail!.Contains("disabled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_TokenSignedWithAnotherKey_IsRefused()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        idp.User = new TestIdpUser("sub-ada", "ada", ["city-admins"], ["pwd", "mfa"]);
        idp.SignWithForeignKey = true;
        var browser = server.Client();

        var callback = await LoginAsync(browser, idp);

        Assert.Equal(HttpStatusCode.Unauthorized, callback.StatusCode);
        Assert.Equal(1, idp.TokensIssued);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/auth/me")).StatusCode);
        var refused = Assert.Single(await LoginAuditAsync(server), a => a.Outcome == "refused");
        Assert.Contains("id_token was rejected", refused.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(await LoginAuditAsync(server), a => a.Outcome == "ok");
    }

    [Fact]
    public async Task Login_ForeignReturnUrl_IsRefusedBeforeTheProvider()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        var browser = server.Client();
        foreach (var url in new[] { "https://evil.example/", "//evil.example/", "/\\evil.example" })
        {
            var start = await browser.GetAsync($"/api/auth/oidc/login?returnUrl={Uri.EscapeDataString(url)}");
            Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
        }

        Assert.Null(idp.LastAuthorize);
    }

    [Fact]
    public async Task Configured_OnlyTheLoginStartIsAddedWithoutASession()
    {
        await using var idp = await TestOidcProvider.StartAsync();
        await using var server = await StartAsync(idp);
        // What the authorization matrix allows anonymously (the public surface and the local login), plus the OIDC login start.
        var anonymous = server.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Where(p => !PublicSurface.IsPublic(p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["/api/auth/login", "/api/auth/oidc/login"], anonymous);
    }

    [Fact]
    public async Task NotConfigured_NoOidcEndpoint()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/api/auth/oidc/login")).StatusCode);
    }

    [Theory]
    [InlineData("http://idp.example/realms/staff", "https")]
    [InlineData("https://user:pw@idp.example/", "credentials")]
    public void StartupGuard_UnsafeAuthority_IsRefused(string authority, string said)
    {
        var options = new ServerOptions
        {
            DataDirectory = "/nonexistent",
            Oidc = new OidcSettings { Authority = new Uri(authority), ClientId = "c", RoleMap = RoleMap },
        };
        var ex = Assert.Throws<StartupException>(() => StartupGuard.CheckOidc(options));
        Assert.Contains(said, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StartupGuard_RoleMapOntoUnknownRole_IsRefused()
    {
        var options = new ServerOptions
        {
            DataDirectory = "/nonexistent",
            Oidc = new OidcSettings { Authority = new Uri("https://idp.example/"), ClientId = "c", RoleMap = new Dictionary<string, string> { ["x"] = "superuser" } },
        };
        Assert.Throws<StartupException>(() => StartupGuard.CheckOidc(options));
    }
}
