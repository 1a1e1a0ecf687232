using System.Buffers.Binary;
using System.Text;

namespace CivicLens.TestSupport;

/// <summary>EXIF and XMP as a phone writes them into a JPEG: a position, a time and a packet to strip.</summary>
public static class ExifBytes
{
    /// <summary>A TIFF (EXIF) block: IFD0 pointing to an Exif IFD (time, zone) and a GPS IFD (position, UTC stamp).</summary>
    public static byte[] Tiff(bool little, double lat, double lon, string? dateTimeOriginal, string? offsetTime, (string Date, int H, int M, int S)? gpsUtc = null)
    {
        var exif = new List<(ushort, ushort, uint, byte[])>();
        if (dateTimeOriginal is not null) exif.Add((0x9003, 2, (uint)dateTimeOriginal.Length + 1, Ascii(dateTimeOriginal)));
        if (offsetTime is not null) exif.Add((0x9011, 2, (uint)offsetTime.Length + 1, Ascii(offsetTime)));
        var gps = new List<(ushort, ushort, uint, byte[])>
        {
            (1, 2, 2, Ascii(lat >= 0 ? "N" : "S")),
            (2, 5, 3, Rationals(little, Dms(Math.Abs(lat)))),
            (3, 2, 2, Ascii(lon >= 0 ? "E" : "W")),
            (4, 5, 3, Rationals(little, Dms(Math.Abs(lon)))),
        };
        if (gpsUtc is { } utc)
        {
            gps.Add((7, 5, 3, Rationals(little, [(utc.H, 1), (utc.M, 1), (utc.S, 1)])));
            gps.Add((0x1D, 2, 11, Ascii(utc.Date)));
        }

        // IFD0 first, then the Exif IFD, then the GPS IFD, then every value too long to sit in its entry.
        var ifds = new List<(ushort Tag, ushort Type, uint Count, byte[] Data)>[] { [], exif, gps };
        var ifdAt = new int[3];
        var at = 8;
        var ifd0Count = 2;
        for (var i = 0; i < 3; i++)
        {
            ifdAt[i] = at;
            at += 2 + 12 * (i == 0 ? ifd0Count : ifds[i].Count) + 4;
        }

        ifds[0].Add((0x8769, 4, 1, U32(little, (uint)ifdAt[1])));
        ifds[0].Add((0x8825, 4, 1, U32(little, (uint)ifdAt[2])));
        var data = new MemoryStream();
        var tiff = new MemoryStream();
        tiff.Write(little ? "II"u8 : "MM"u8);
        tiff.Write(U16(little, 42));
        tiff.Write(U32(little, 8));
        foreach (var ifd in ifds)
        {
            tiff.Write(U16(little, (ushort)ifd.Count));
            foreach (var (tag, type, count, value) in ifd)
            {
                tiff.Write(U16(little, tag));
                tiff.Write(U16(little, type));
                tiff.Write(U32(little, count));
                if (value.Length <= 4)
                {
                    tiff.Write([.. value, .. new byte[4 - value.Length]]);
                }
                else
                {
                    tiff.Write(U32(little, (uint)(at + data.Length)));
                    data.Write(value);
                }
            }

            tiff.Write(U32(little, 0));
        }

        tiff.Write(data.ToArray());
        return tiff.ToArray();
    }

    /// <summary>The JPEG with an EXIF APP1 segment (and an XMP packet) right after its SOI.</summary>
    public static byte[] WithExif(byte[] jpeg, byte[] tiff, bool xmp = false)
    {
        var withExif = WithSegment(jpeg, 0xE1, [.. "Exif\0\0"u8, .. tiff]);
        return xmp
            ? WithSegment(withExif, 0xE1, [.. "http://ns.adobe.com/xap/1.0/\0"u8, .. "<x:xmpmeta><rdf:Description>XMP-MARKER 52.37N 4.89E</rdf:Description></x:xmpmeta>"u8])
            : withExif;
    }

    /// <summary>The JPEG with one more segment right after its SOI.</summary>
    public static byte[] WithSegment(byte[] jpeg, byte marker, byte[] payload)
    {
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = marker;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    private static (long, long)[] Dms(double degrees)
    {
        var d = Math.Floor(degrees);
        var m = Math.Floor((degrees - d) * 60);
        var s = (degrees - d - m / 60) * 3600;
        return [((long)d, 1), ((long)m, 1), ((long)Math.Round(s * 10000), 10000)];
    }

    private static byte[] Rationals(bool little, (long Num, long Den)[] values) =>
        [.. values.SelectMany(v => U32(little, (uint)v.Num).Concat(U32(little, (uint)v.Den)))];

    private static byte[] Ascii(string s) => [.. Encoding.ASCII.GetBytes(s), 0];

    private static byte[] U16(bool little, ushort v)
    {
        var b = new byte[2];
        if (little) BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        else BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    private static byte[] U32(bool little, uint v)
    {
        var b = new byte[4];
        if (little) BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        else BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }
}
