using CivicLens.Server.Hosting;

namespace CivicLens.Cli.Tests;

public class ServeOidcOptionsTests
{
    [Fact]
    public void Oidc_NoAuthority_IsOff()
    {
        Assert.Null(ServeCommand.Oidc(null, null, null, null, null, null, "secret"));
    }

    [Fact]
    public void Oidc_AllOptions_MapToSettings()
    {
        var s = ServeCommand.Oidc("https://login.city.example/realms/staff", "civiclens", "cctv-admins=admin, cctv-desk = operator", "groups", "areas", null, "s3cret")!;

        Assert.Equal(new Uri("https://login.city.example/realms/staff"), s.Authority);
        Assert.Equal("civiclens", s.ClientId);
        Assert.Equal("groups", s.RoleClaim);
        Assert.Equal("areas", s.AreaClaim);
        Assert.Equal("admin", s.RoleMap["cctv-admins"]);
        Assert.Equal("operator", s.RoleMap["cctv-desk"]);
        Assert.Equal(["openid", "profile"], s.Scopes);
        Assert.DoesNotContain("s3cret", s.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "civiclens", "a=admin")]
    [InlineData("https://login.city.example/", null, "a=admin")]
    [InlineData("https://login.city.example/", "civiclens", "admin")]
    public void Oidc_Incomplete_IsRefused(string? authority, string? clientId, string roleMap)
    {
        Assert.Throws<StartupException>(() => ServeCommand.Oidc(authority, clientId, roleMap, null, null, null, null));
    }
}
