namespace CivicLens.TestSupport;

/// <summary>RFC 4648 base32, for the TOTP secrets the server hands out on enrolment (tests compute codes as an authenticator app does).</summary>
public static class Base32
{
    public static byte[] Decode(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in s.TrimEnd('=').ToUpperInvariant())
        {
            buffer = (buffer << 5) | Alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. bytes];
    }
}
