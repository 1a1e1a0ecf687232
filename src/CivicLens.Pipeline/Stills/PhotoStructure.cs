using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SkiaSharp;

namespace CivicLens.Pipeline.Stills;

/// <summary>A span of an upload, by offset and length.</summary>
internal readonly record struct ByteRange(int Start, int Length)
{
    public bool IsEmpty => Length == 0;
}

/// <summary>What the structure walk learnt: the format, where the image ends, and where its EXIF (TIFF) block lies.</summary>
internal readonly record struct PhotoLayout(SKEncodedImageFormat Format, int End, ByteRange Exif);

/// <summary>
/// Checks an upload's bytes before any decoder sees them: the magic bytes (JPEG, PNG, WebP only), the container's
/// structure walked to the image's end (JPEG EOI, PNG IEND, the RIFF size of WebP: missing means truncated), nothing
/// after that end but a little padding, and no signature of HTML, script, archive, executable or PDF in it.
/// The signatures are searched everywhere for long or unmistakable ones, and only in metadata (segments, chunks
/// outside the compressed pixels) for short ones, where compressed data cannot match them by chance.
/// </summary>
internal static class PhotoStructure
{
    // Some writers pad to a block size; more than this, or any other byte, is something appended.
    private const int MaxPadding = 4096;

    // A ZIP reader finds its end record within the last 64 KB + 22 bytes of a file.
    private const int ZipTail = 65_557;

    private static readonly byte[][] TagsAnywhere = [.. new[] { "<script", "<!doctype", "<iframe", "<?php" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] TagsInMetadata =
        [.. new[] { "<script", "<!doctype", "<iframe", "<?php", "<html", "<body", "<svg", "<object", "<embed", "<a href" }.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[][] BinaryInMetadata =
    [
        "PK\x03\x04"u8.ToArray(), "PK\x01\x02"u8.ToArray(), "PK\x05\x06"u8.ToArray(),
        [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07], [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], [0x7F, 0x45, 0x4C, 0x46],
    ];

    private static readonly byte[] JavaScriptUrl = "javascript:"u8.ToArray();

    private static readonly string[] HeifBrands = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"];

    /// <exception cref="PhotoRejectedException">empty, unsupported-format, not-an-image, truncated or polyglot.</exception>
    public static PhotoLayout Inspect(ReadOnlySpan<byte> file)
    {
        if (file.IsEmpty) throw new PhotoRejectedException(PhotoRejection.Empty, "The upload is empty: no photo arrived. Please send it again.");
        var metadata = new List<ByteRange>();
        var layout = Sniff(file) switch
        {
            SKEncodedImageFormat.Jpeg => WalkJpeg(file, metadata),
            SKEncodedImageFormat.Png => WalkPng(file, metadata),
            _ => WalkWebp(file, metadata),
        };

        CheckTrailer(file, layout.End, layout.Format == SKEncodedImageFormat.Jpeg);
        CheckSignatures(file, metadata);
        return layout;
    }

    private static SKEncodedImageFormat Sniff(ReadOnlySpan<byte> f)
    {
        if (f.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return SKEncodedImageFormat.Jpeg;
        if (f.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return SKEncodedImageFormat.Png;
        if (f.Length >= 12 && f.StartsWith("RIFF"u8) && f[8..12].SequenceEqual("WEBP"u8)) return SKEncodedImageFormat.Webp;

        if (f.Length >= 12 && f[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(f[8..12]);
            if (HeifBrands.Contains(brand, StringComparer.Ordinal))
            {
                throw Unsupported("HEIC/HEIF photos (the iPhone's default format) are not accepted. Please send the photo as a JPEG "
                    + "(on an iPhone: Settings > Camera > Formats > Most Compatible, or share it as JPEG).");
            }

            throw Unsupported(brand is "avif" or "avis"
                ? "AVIF images are not accepted. Please send the photo as a JPEG."
                : "This looks like a video or another container, not a photo. Please send a JPEG photo.");
        }

        if (f.StartsWith("GIF8"u8)) throw Unsupported("GIF images are not accepted. Please send the photo as a JPEG.");
        if (f.StartsWith("BM"u8) && f.Length >= 26) throw Unsupported("BMP images are not accepted. Please send the photo as a JPEG.");
        if (f.StartsWith("II*\0"u8) || f.StartsWith("MM\0*"u8)) throw Unsupported("TIFF and camera raw images are not accepted. Please send the photo as a JPEG.");
        if (f.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A]) || f.StartsWith("\0\0\0\x0CJXL "u8) || f.StartsWith("\0\0\0\x0CjP  "u8))
        {
            throw Unsupported("JPEG XL and JPEG 2000 images are not accepted. Please send the photo as a plain JPEG.");
        }

        throw new PhotoRejectedException(PhotoRejection.NotAnImage, "This file is not a photo. Please send a JPEG, PNG or WebP photo.");
    }

    private static PhotoLayout WalkJpeg(ReadOnlySpan<byte> f, List<ByteRange> metadata)
    {
        var exif = default(ByteRange);
        var i = 2;
        while (true)
        {
            if (i >= f.Length) throw Truncated();
            if (f[i] != 0xFF) throw Damaged();
            // Fill bytes may precede a marker.
            while (i < f.Length && f[i] == 0xFF) i++;
            if (i >= f.Length) throw Truncated();
            var marker = f[i];
            i++;
            if (marker == 0xD9) return new PhotoLayout(SKEncodedImageFormat.Jpeg, i, exif);
            if (marker is 0x00 or 0xD8) throw Damaged();
            // Markers without a length: restart markers and TEM.
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) continue;

            if (i + 2 > f.Length) throw Truncated();
            var length = BinaryPrimitives.ReadUInt16BigEndian(f[i..]);
            if (length < 2) throw Damaged();
            if (i + length > f.Length) throw Truncated();
            var payload = new ByteRange(i + 2, length - 2);
            metadata.Add(payload);
            if (marker == 0xE1 && exif.IsEmpty && f.Slice(payload.Start, payload.Length).StartsWith("Exif\0\0"u8))
            {
                exif = new ByteRange(payload.Start + 6, payload.Length - 6);
            }

            i += length;
            if (marker != 0xDA) continue;

            // Entropy-coded data up to the next marker: 0xFF is followed by 0x00 (a stuffed byte), a restart
            // marker or more fill bytes inside the scan.
            while (true)
            {
                var k = f[i..].IndexOf((byte)0xFF);
                if (k < 0) throw Truncated();
                var p = i + k;
                if (p + 1 >= f.Length) throw Truncated();
                var next = f[p + 1];
                if (next == 0xFF)
                {
                    i = p + 1;
                    continue;
                }

                if (next is 0x00 or (>= 0xD0 and <= 0xD7))
                {
                    i = p + 2;
                    continue;
                }

                i = p;
                break;
            }
        }
    }

    private static PhotoLayout WalkPng(ReadOnlySpan<byte> f, List<ByteRange> metadata)
    {
        var exif = default(ByteRange);
        long i = 8;
        var first = true;
        while (true)
        {
            if (i + 8 > f.Length) throw Truncated();
            var length = BinaryPrimitives.ReadUInt32BigEndian(f[(int)i..]);
            var type = f.Slice((int)i + 4, 4);
            if (length > int.MaxValue || !IsChunkType(type)) throw Damaged();
            if (first && (!type.SequenceEqual("IHDR"u8) || length != 13)) throw Damaged();
            first = false;
            var end = i + 12 + length;
            if (end > f.Length) throw Truncated();
            var data = new ByteRange((int)i + 8, (int)length);
            if (type.SequenceEqual("IEND"u8)) return new PhotoLayout(SKEncodedImageFormat.Png, (int)end, exif);
            if (type.SequenceEqual("eXIf"u8))
            {
                if (exif.IsEmpty) exif = data;
            }

            if (!type.SequenceEqual("IDAT"u8) && !type.SequenceEqual("fdAT"u8)) metadata.Add(data);
            i = end;
        }
    }

    private static PhotoLayout WalkWebp(ReadOnlySpan<byte> f, List<ByteRange> metadata)
    {
        var exif = default(ByteRange);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(f[4..]);
        if (size < 4 + 8) throw Damaged();
        var riffEnd = 8 + size;
        if (riffEnd > f.Length) throw Truncated();
        long i = 12;
        var first = true;
        while (i < riffEnd)
        {
            if (i + 8 > riffEnd) throw Damaged();
            var fourcc = f.Slice((int)i, 4);
            long length = BinaryPrimitives.ReadUInt32LittleEndian(f[((int)i + 4)..]);
            if (!IsFourCc(fourcc)) throw Damaged();
            var isImage = fourcc.SequenceEqual("VP8 "u8) || fourcc.SequenceEqual("VP8L"u8);
            if (first && !isImage && !fourcc.SequenceEqual("VP8X"u8)) throw Damaged();
            first = false;
            if (i + 8 + length > riffEnd) throw Damaged();
            var data = new ByteRange((int)i + 8, (int)length);
            if (fourcc.SequenceEqual("EXIF"u8) && exif.IsEmpty)
            {
                // Some writers keep JPEG's "Exif\0\0" prefix here.
                exif = f.Slice(data.Start, data.Length).StartsWith("Exif\0\0"u8) ? new ByteRange(data.Start + 6, data.Length - 6) : data;
            }

            if (!isImage && !fourcc.SequenceEqual("ALPH"u8) && !fourcc.SequenceEqual("ANMF"u8)) metadata.Add(data);
            i += 8 + length + (length & 1);
        }

        return new PhotoLayout(SKEncodedImageFormat.Webp, (int)Math.Min(riffEnd, f.Length), exif);
    }

    private static void CheckTrailer(ReadOnlySpan<byte> f, int end, bool jpeg)
    {
        var rest = f[end..];
        if (rest.Length <= MaxPadding && rest.IndexOfAnyExcept((ReadOnlySpan<byte>)[0x00, 0xFF, 0x20, 0x09, 0x0D, 0x0A]) < 0) return;
        // Phones append to a JPEG what is theirs to append: more JPEGs (Multi-Picture Format: depth maps, previews)
        // or a motion photo's MP4. Only the first image's pixels are re-encoded, so these never reach disk, and the
        // signature scan below still refuses scripts, archives or documents anywhere in the file.
        if (jpeg && (rest.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) || (rest.Length >= 12 && rest[4..8].SequenceEqual("ftyp"u8)))) return;
        throw new PhotoRejectedException(PhotoRejection.Polyglot, string.Create(CultureInfo.InvariantCulture,
            $"The file carries {rest.Length} bytes of other data after the image ends (something appended, or a motion photo's video). Please send the plain photo as a JPEG."));
    }

    private static void CheckSignatures(ReadOnlySpan<byte> f, List<ByteRange> metadata)
    {
        var found = FindTag(f, TagsAnywhere) ?? (f.IndexOf("%PDF-"u8) >= 0 ? "a PDF document" : null);
        if (found is null && f[Math.Max(0, f.Length - ZipTail)..].IndexOf("PK\x05\x06"u8) >= 0) found = "a ZIP archive";
        foreach (var range in metadata)
        {
            if (found is not null) break;
            var part = f.Slice(range.Start, range.Length);
            found = FindTag(part, TagsInMetadata) ?? (Contains(part, JavaScriptUrl) ? "a script" : null);
            foreach (var signature in BinaryInMetadata)
            {
                if (found is null && part.IndexOf(signature) >= 0) found = "an archive, program or document";
            }
        }

        if (found is not null)
        {
            throw new PhotoRejectedException(PhotoRejection.Polyglot,
                $"The file hides {found} inside the image, so it is refused. Please send the plain photo as a JPEG.");
        }
    }

    // A case-insensitive search for tags beginning with '<'.
    private static string? FindTag(ReadOnlySpan<byte> data, byte[][] tags)
    {
        var i = 0;
        while (true)
        {
            var k = data[i..].IndexOf((byte)'<');
            if (k < 0) return null;
            i += k;
            foreach (var tag in tags)
            {
                if (i + tag.Length <= data.Length && Ascii.EqualsIgnoreCase(data.Slice(i, tag.Length), tag)) return "HTML or a script";
            }

            i++;
        }
    }

    private static bool Contains(ReadOnlySpan<byte> data, byte[] lowerCase)
    {
        for (var i = 0; i + lowerCase.Length <= data.Length; i++)
        {
            var k = data[i..].IndexOfAny(lowerCase[0], (byte)char.ToUpperInvariant((char)lowerCase[0]));
            if (k < 0) return false;
            i += k;
            if (i + lowerCase.Length <= data.Length && Ascii.EqualsIgnoreCase(data.Slice(i, lowerCase.Length), lowerCase)) return true;
        }

        return false;
    }

    private static bool IsChunkType(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
        {
            if (!char.IsAsciiLetter((char)b)) return false;
        }

        return true;
    }

    private static bool IsFourCc(ReadOnlySpan<byte> fourcc)
    {
        foreach (var b in fourcc)
        {
            if (b is < 0x20 or > 0x7E) return false;
        }

        return true;
    }

    private static PhotoRejectedException Unsupported(string message) => new(PhotoRejection.UnsupportedFormat, message);

    private static PhotoRejectedException Truncated() =>
        new(PhotoRejection.Truncated, "The photo is incomplete (it ends before the image does); the upload may have been cut off. Please send it again.");

    private static PhotoRejectedException Damaged() =>
        new(PhotoRejection.NotAnImage, "The photo's structure is damaged, so it cannot be read. Please send the photo again as a JPEG.");
}
