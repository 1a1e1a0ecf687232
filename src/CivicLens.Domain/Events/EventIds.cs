using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CivicLens.Domain.Events;

/// <summary>
/// Event ids derived from what happened (camera, rule, track, transition, time), so replaying the same
/// footage or re-delivering the same event yields the same id: stores treat it as a no-op, never a duplicate.
/// </summary>
public static class EventIds
{
    public static Guid Create(string camera, string rule, long trackId, string transition, TimeSpan streamTime)
    {
        // Millisecond resolution: the same frame always maps to the same time, whatever the float noise.
        var key = string.Create(CultureInfo.InvariantCulture,
            $"{camera}\u001f{rule}\u001f{trackId}\u001f{transition}\u001f{(long)Math.Round(streamTime.TotalMilliseconds)}");
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        // Shape it as an RFC 9562 version-8 (custom) UUID.
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
