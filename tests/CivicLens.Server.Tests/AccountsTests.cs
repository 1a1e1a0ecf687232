using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Tests;

public sealed class AccountsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("admin")]
    [InlineData("password1234")]
    [InlineData("Passw0rd!Passw0rd!")]
    [InlineData("short-1")]
    public async Task FirstStart_MissingOrWeakAdminPassword_IsRefused(string? password)
    {
        var ex = await Assert.ThrowsAsync<StartupException>(() => TestServer.StartAsync(tweak: o => o with { AdminPassword = password }));
        Assert.Contains("admin password", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://192.168.1.20:8080")]
    [InlineData("http://*:8080")]
    [InlineData("https://0.0.0.0:8443")]
    public async Task Listening_BeyondLoopbackWithoutTls_IsRefused(string url)
    {
        var ex = await Assert.ThrowsAsync<StartupException>(() => TestServer.StartAsync(tweak: o => o with { Urls = [url] }));
        Assert.Matches("without TLS|no certificate", ex.Message);
    }

    [Fact]
    public async Task Login_FiveFailures_LockTheAccountEvenForTheRightPassword_AndAreAudited()
    {
        await using var server = await TestServer.StartAsync();
        await server.StaffAsync(Roles.Viewer);
        var client = server.Client();
        for (var i = 0; i < AccountService.MaxFailures; i++)
        {
            var r = await client.PostAsJsonAsync("/api/auth/login", new { userName = "viewer-all", password = "not the password at all" });
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }

        var locked = await client.PostAsJsonAsync("/api/auth/login", new { userName = "viewer-all", password = TestServer.StaffPassword });
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode);
        // The answer does not tell a locked account from a wrong password or an unknown name.
        var unknown = await client.PostAsJsonAsync("/api/auth/login", new { userName = "nobody-here", password = TestServer.StaffPassword });
        Assert.Equal((await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(),
            (await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        await using var db = await server.Service<IDbContextFactory<CivicLensDb>>().CreateDbContextAsync();
        Assert.Equal(4, await db.Audit.CountAsync(a => a.Action == "login" && a.Outcome == "failed" && a.Actor == "viewer-all"));
        Assert.Equal(2, await db.Audit.CountAsync(a => a.Action == "login" && a.Outcome == "locked" && a.Actor == "viewer-all"));
    }

    [Fact]
    public async Task Login_OperatorWithoutCode_NeedsTheSecondFactor_AndACodeWorksOnlyOnce()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.AdminAsync();
        var created = await admin.PostAsJsonAsync("/api/users", new { userName = "op", password = TestServer.StaffPassword, role = "operator" });
        created.EnsureSuccessStatusCode();
        var client = server.Client();

        var enrol = await client.PostAsJsonAsync("/api/auth/login", new { userName = "op", password = TestServer.StaffPassword });
        var problem = await enrol.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.Unauthorized, enrol.StatusCode);
        Assert.Equal("enrol", problem.GetProperty("secondFactor").GetString());
        var secret = problem.GetProperty("secret").GetString()!;
        Assert.StartsWith("otpauth://totp/CivicLens:op?secret=" + secret, problem.GetProperty("otpauthUri").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/cases")).StatusCode);

        var code = server.NextCode("op", secret);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/auth/login", new { userName = "op", password = TestServer.StaffPassword, code })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/cases")).StatusCode);

        // The same code again (a replay) is refused; without a code the enrolled account asks for one.
        var other = server.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.PostAsJsonAsync("/api/auth/login", new { userName = "op", password = TestServer.StaffPassword, code })).StatusCode);
        var again = await other.PostAsJsonAsync("/api/auth/login", new { userName = "op", password = TestServer.StaffPassword });
        Assert.Equal("required", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secondFactor").GetString());
    }

    [Fact]
    public async Task Session_EndsWhenTheAccountIsDisabled()
    {
        await using var server = await TestServer.StartAsync();
        var viewer = await server.StaffAsync(Roles.Viewer);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/events")).StatusCode);
        var admin = await server.AdminAsync();
        var users = await admin.GetFromJsonAsync<JsonElement>("/api/users");
        var id = users.EnumerateArray().First(u => u.GetProperty("userName").GetString() == "viewer-all").GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/users/{id}/disable", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await viewer.GetAsync("/api/events")).StatusCode);
    }

    [Fact]
    public async Task CreateUser_WeakPassword_IsRefusedWithTheReason()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.AdminAsync();
        var r = await admin.PostAsJsonAsync("/api/users", new { userName = "weak", password = "weakpass", role = "viewer" });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("at least 12 characters", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("correct horse battery", null)]
    [InlineData("short", "at least 12")]
    [InlineData("passwordpassword", "well-known")]
    [InlineData("P@ssw0rd123456", "well-known")]
    [InlineData("aaaaaaaaaaaaaaa", "too few")]
    [InlineData("my name is opsadmin ok", "user name")]
    public void PasswordPolicy_FollowsAsvsLevel2(string password, string? problem)
    {
        var result = PasswordPolicy.Check(password, "opsadmin");
        if (problem is null) Assert.Null(result);
        else Assert.Contains(problem, result, StringComparison.Ordinal);
    }

    [Fact]
    public void Totp_MatchesTheRfc6238TestVector()
    {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits; 6 digits: 287082).
        var secret = System.Text.Encoding.ASCII.GetBytes("12345678901234567890");
        Assert.Equal("287082", Totp.Code(secret, 1));
        Assert.Equal("081804", Totp.Code(secret, 1111111109 / 30));
    }
}
