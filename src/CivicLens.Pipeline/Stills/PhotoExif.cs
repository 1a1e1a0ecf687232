using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CivicLens.Pipeline.Stills;

/// <summary>
/// Reads the claim of an original photo's EXIF block (a TIFF structure): GPS latitude and longitude, and when it was
/// taken. Untrusted input: every offset is bounds-checked, only IFD0 and the two IFDs it points to are read (no chains,
/// no loops), and anything malformed yields no claim rather than an error: a broken EXIF never refuses a photo.
/// </summary>
internal static class PhotoExif
{
    private const ushort ExifIfdTag = 0x8769;
    private const ushort GpsIfdTag = 0x8825;
    private const ushort DateTimeOriginalTag = 0x9003;
    private const ushort OffsetTimeOriginalTag = 0x9011;
    private const ushort GpsLatitudeRefTag = 1;
    private const ushort GpsLatitudeTag = 2;
    private const ushort GpsLongitudeRefTag = 3;
    private const ushort GpsLongitudeTag = 4;
    private const ushort GpsTimeStampTag = 7;
    private const ushort GpsDateStampTag = 0x1D;
    private const int MaxEntries = 1024;

    public static PhotoClaim ReadClaim(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return PhotoClaim.None;
        bool little;
        if (tiff.StartsWith("II"u8)) little = true;
        else if (tiff.StartsWith("MM"u8)) little = false;
        else return PhotoClaim.None;
        var reader = new Reader(tiff, little);
        if (reader.U16(2) != 42) return PhotoClaim.None;

        var ifd0 = reader.U32(4);
        var exifIfd = reader.FindLong(ifd0, ExifIfdTag);
        var gpsIfd = reader.FindLong(ifd0, GpsIfdTag);

        double? lat = null, lon = null;
        if (gpsIfd is { } gps)
        {
            var latitude = Degrees(reader, gps, GpsLatitudeTag, GpsLatitudeRefTag, 'N', 'S', 90);
            var longitude = Degrees(reader, gps, GpsLongitudeTag, GpsLongitudeRefTag, 'E', 'W', 180);
            // Both or neither; exactly (0, 0) is what devices write without a fix.
            if (latitude is { } a && longitude is { } b && (a != 0 || b != 0))
            {
                lat = a;
                lon = b;
            }
        }

        return new PhotoClaim(lat, lon, TakenAt(reader, exifIfd, gpsIfd));
    }

    private static DateTimeOffset? TakenAt(Reader reader, uint? exifIfd, uint? gpsIfd)
    {
        if (exifIfd is { } exif
            && reader.FindAscii(exif, DateTimeOriginalTag) is { } local
            && reader.FindAscii(exif, OffsetTimeOriginalTag) is { } offset
            && DateTimeOffset.TryParseExact(local + " " + offset, "yyyy:MM:dd HH:mm:ss zzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out var taken))
        {
            return taken;
        }

        // The GPS time stamp is UTC by definition.
        if (gpsIfd is { } gps
            && reader.FindAscii(gps, GpsDateStampTag) is { } date
            && DateTime.TryParseExact(date, "yyyy:MM:dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            && reader.FindRationals(gps, GpsTimeStampTag, 3) is [var h, var m, var s]
            && h is >= 0 and < 24 && m is >= 0 and < 60 && s is >= 0 and < 61)
        {
            return new DateTimeOffset(day, TimeSpan.Zero).AddSeconds(h * 3600 + m * 60 + s);
        }

        return null;
    }

    private static double? Degrees(Reader reader, uint ifd, ushort valueTag, ushort refTag, char positive, char negative, double max)
    {
        if (reader.FindRationals(ifd, valueTag, 3) is not [var d, var m, var s]) return null;
        if (d < 0 || m is < 0 or >= 60 || s is < 0 or >= 60) return null;
        var value = d + m / 60 + s / 3600;
        var sign = reader.FindAscii(ifd, refTag) switch
        {
            [var c, ..] when c == positive => 1,
            [var c, ..] when c == negative => -1,
            _ => 0,
        };
        if (sign == 0 || !double.IsFinite(value) || value > max) return null;
        return sign * value;
    }

    private readonly ref struct Reader(ReadOnlySpan<byte> tiff, bool little)
    {
        private readonly ReadOnlySpan<byte> _tiff = tiff;

        public ushort U16(long at) => at < 0 || at + 2 > _tiff.Length ? (ushort)0
            : little ? BinaryPrimitives.ReadUInt16LittleEndian(_tiff[(int)at..]) : BinaryPrimitives.ReadUInt16BigEndian(_tiff[(int)at..]);

        public uint U32(long at) => at < 0 || at + 4 > _tiff.Length ? 0
            : little ? BinaryPrimitives.ReadUInt32LittleEndian(_tiff[(int)at..]) : BinaryPrimitives.ReadUInt32BigEndian(_tiff[(int)at..]);

        public uint? FindLong(uint ifd, ushort tag) =>
            Find(ifd, tag) is { Type: 4 or 13, Count: 1 } e ? U32(e.ValueAt) : (uint?)null;

        public string? FindAscii(uint ifd, ushort tag)
        {
            if (Find(ifd, tag) is not { Type: 2 } e || e.Count > 64) return null;
            var text = _tiff.Slice((int)e.DataAt, (int)e.Count);
            var end = text.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? text : text[..end]).Trim();
        }

        public double[]? FindRationals(uint ifd, ushort tag, int count)
        {
            if (Find(ifd, tag) is not { Type: 5, Count: var n } e || n != count) return null;
            var values = new double[count];
            for (var i = 0; i < count; i++)
            {
                var numerator = U32(e.DataAt + i * 8);
                var denominator = U32(e.DataAt + i * 8 + 4);
                if (denominator == 0) return null;
                values[i] = numerator / (double)denominator;
            }

            return values;
        }

        // The entry with this tag in the IFD at an offset, with where its data lies; null when absent or out of bounds.
        private Entry? Find(uint ifd, ushort tag)
        {
            if (ifd < 8 || ifd + 2L > _tiff.Length) return null;
            var count = U16(ifd);
            if (count > MaxEntries || ifd + 2L + count * 12L > _tiff.Length) return null;
            for (var i = 0; i < count; i++)
            {
                long at = ifd + 2 + i * 12;
                if (U16(at) != tag) continue;
                var type = U16(at + 2);
                var n = U32(at + 4);
                long size = type switch
                {
                    1 or 2 or 6 or 7 => 1,
                    3 or 8 => 2,
                    4 or 9 or 11 or 13 => 4,
                    5 or 10 or 12 => 8,
                    _ => 0,
                };
                var bytes = size * n;
                if (size == 0 || bytes > _tiff.Length) return null;
                long data = bytes <= 4 ? at + 8 : U32(at + 8);
                if (data + bytes > _tiff.Length) return null;
                return new Entry(type, n, at + 8, data);
            }

            return null;
        }
    }

    private readonly record struct Entry(ushort Type, uint Count, long ValueAt, long DataAt);
}
