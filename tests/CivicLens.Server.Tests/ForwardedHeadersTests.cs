using System.Net;

namespace CivicLens.Server.Tests;

/// <summary>
/// Behind a reverse proxy the limits count callers, not the proxy, but only for proxies the city named: anyone else
/// sending X-Forwarded-For picks no address for themselves.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private static async Task<HttpStatusCode> ReportFromAsync(HttpClient client, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/public/reports")
        {
            Content = ReportTests.Form("waste", ReportTests.PlazaLat, ReportTests.PlazaLon, "Bags by the bench"),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await client.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task TrustedProxy_PublicReportLimit_CountsEachForwardedCaller()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { TrustedProxies = [IPNetwork.Parse("127.0.0.1/32")], PublicReportsPerMinute = 2 });
        var proxy = server.Client();
        Assert.Equal(HttpStatusCode.Created, await ReportFromAsync(proxy, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.Created, await ReportFromAsync(proxy, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await ReportFromAsync(proxy, "203.0.113.1"));
        // Another citizen behind the same proxy is not held back by the first.
        Assert.Equal(HttpStatusCode.Created, await ReportFromAsync(proxy, "203.0.113.2"));
    }

    [Fact]
    public async Task NoTrustedProxy_ForwardedForIsIgnored()
    {
        await using var server = await TestServer.StartAsync(tweak: o => o with { PublicReportsPerMinute = 2 });
        var caller = server.Client();
        Assert.Equal(HttpStatusCode.Created, await ReportFromAsync(caller, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.Created, await ReportFromAsync(caller, "203.0.113.2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await ReportFromAsync(caller, "203.0.113.3"));
    }
}
