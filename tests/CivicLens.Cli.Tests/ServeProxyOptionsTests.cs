using System.Net;

namespace CivicLens.Cli.Tests;

public class ServeProxyOptionsTests
{
    [Theory]
    [InlineData("10.0.0.5", "10.0.0.5/32")]
    [InlineData("10.0.0.0/24", "10.0.0.0/24")]
    [InlineData("::1", "::1/128")]
    [InlineData("fd00::/8", "fd00::/8")]
    [InlineData("10.0.0.1/24", "10.0.0.0/24")] // host bits dropped: the network is meant
    public void TrustedProxy_AddressOrNetwork(string text, string network) =>
        Assert.Equal(IPNetwork.Parse(network), ServeCommand.TrustedProxy(text));

    [Theory]
    [InlineData("proxy.city.example")]
    [InlineData("10.0.0.1/33")]
    [InlineData("")]
    public void TrustedProxy_Other_IsRefused(string text) => Assert.Null(ServeCommand.TrustedProxy(text));
}
