using System.Net;
using System.Net.Sockets;

namespace CivicLens.Server.Security;

/// <summary>Who a rate limit counts as one caller when there is no account: an IPv4 address, or an IPv6 /64.</summary>
public static class ClientAddress
{
    /// <summary>
    /// The partition key of an address. One IPv6 subscriber holds a whole /64, so counting single IPv6 addresses
    /// would let one phone step around a limit by changing its address.
    /// </summary>
    public static string PartitionOf(IPAddress? address)
    {
        if (address is null) return "?";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
