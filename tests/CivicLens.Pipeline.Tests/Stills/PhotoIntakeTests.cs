using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using CivicLens.Domain.Geometry;
using CivicLens.Pipeline.Stills;
using CivicLens.TestSupport;
using SkiaSharp;
using Xunit.Abstractions;

namespace CivicLens.Pipeline.Tests.Stills;

/// <summary>
/// <see cref="PhotoIntake"/> on real photos with the real models: what comes out is a redacted JPEG with no metadata
/// (a face on the original is found by neither independent check afterwards), the EXIF position and time of the
/// original come back as the claim and nowhere else, and each kind of bad upload is refused with its reason.
/// </summary>
public sealed class PhotoIntakeTests(ITestOutputHelper output, PhotoIntakeTests.Redactor redactor) : IClassFixture<PhotoIntakeTests.Redactor>
{
    public sealed class Redactor : IDisposable
    {
        public StillRedactor Value { get; } = StillRedactor.Open(TestAssets.ModelsDirectory);

        public void Dispose() => Value.Dispose();
    }

    // messi5.jpg's face, marked by hand (as in StillRedactionTests).
    private static readonly BoxF MessiFace = new(205, 65, 62, 70);

    private readonly StillRedactor _redactor = redactor.Value;

    [Fact]
    public async Task AcceptAsync_SamplePhotos_ComeOutRedactedWithoutMetadata()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        using var dir = TestAssets.CreateTempDirectory();
        var names = new[] { "messi5.jpg", "person.jpg", "licenseplate_motion.jpg", "dog.jpg" };
        var outputs = new Dictionary<string, string>();
        foreach (var name in names)
        {
            // Each original carries EXIF with a GPS position and an XMP packet, as a phone's photo does.
            var original = ExifBytes.WithExif(File.ReadAllBytes(TestAssets.Still(name)), ExifBytes.Tiff(little: true, 52.3702, 4.8952, "2024:05:17 14:03:09", "+02:00"), xmp: true);
            var photo = await intake.AcceptAsync(new MemoryStream(original), CancellationToken.None);
            output.WriteLine($"{name}: {photo.Width}x{photo.Height}, {photo.Faces} faces, {photo.PlateBands} plate bands, {photo.Jpeg.Length} bytes");

            PhotoBytes.AssertCleanJpeg(photo.Jpeg, name);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(photo.Jpeg)), photo.Sha256);
            using (var codec = SKCodec.Create(new MemoryStream(photo.Jpeg)))
            {
                Assert.Equal((photo.Width, photo.Height), (codec.Info.Width, codec.Info.Height));
            }

            Assert.Equal(52.3702, photo.Claim.Latitude!.Value, 6);
            Assert.Equal(4.8952, photo.Claim.Longitude!.Value, 6);
            var target = Path.Combine(dir.Path, name);
            await File.WriteAllBytesAsync(target, photo.Jpeg);
            outputs[name] = target;
            if (name == "licenseplate_motion.jpg") Assert.True(photo.PlateBands >= 1, "no plate band on the car's back");
        }

        // The face detector, window by window: it finds the face on the original and nothing on any output.
        using var scan = new FaceScan();
        Assert.Contains(scan.Find(RgbStill.Load(TestAssets.Still("messi5.jpg"))), f => Overlaps(f, MessiFace));
        foreach (var (name, path) in outputs)
        {
            var left = scan.Find(RgbStill.Load(path));
            Assert.True(left.Count == 0, $"faces on the accepted {name}: {string.Join(", ", left)}");
        }

        // OpenCV's Haar cascade, a different method: it sees the face on the original, not on the output.
        var messi = TestAssets.Still("messi5.jpg");
        var haar = await IndependentCheck.RunAsync([messi, outputs["messi5.jpg"]]);
        Assert.Contains(haar[messi].Faces, f => Overlaps(f, MessiFace));
        Assert.DoesNotContain(haar[outputs["messi5.jpg"]].Faces, f => Overlaps(f, MessiFace));
    }

    [Theory]
    [InlineData(true, 52.3702, 4.8952)]
    [InlineData(false, -33.8568, -151.2153)]
    public async Task AcceptAsync_ExifGps_ClaimReadFromOriginalAndAbsentFromOutput(bool little, double lat, double lon)
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var original = ExifBytes.WithExif(PhotoBytes.Jpeg(160, 120), ExifBytes.Tiff(little, lat, lon, "2024:05:17 14:03:09", "+02:00"));
        var photo = await intake.AcceptAsync(new MemoryStream(original), CancellationToken.None);

        Assert.Equal(lat, photo.Claim.Latitude!.Value, 6);
        Assert.Equal(lon, photo.Claim.Longitude!.Value, 6);
        Assert.Equal(new DateTimeOffset(2024, 5, 17, 14, 3, 9, TimeSpan.FromHours(2)), photo.Claim.TakenAt);
        PhotoBytes.AssertCleanJpeg(photo.Jpeg, "gps.jpg");
        var text = Encoding.Latin1.GetString(photo.Jpeg);
        Assert.DoesNotContain("2024:05:17", text, StringComparison.Ordinal);
        Assert.Contains("2024:05:17", Encoding.Latin1.GetString(original), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AcceptAsync_ExifWithoutZone_TakenAtFromGpsStampElseNull()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var jpeg = PhotoBytes.Jpeg(160, 120);

        var gpsTime = await intake.AcceptAsync(new MemoryStream(ExifBytes.WithExif(jpeg, ExifBytes.Tiff(true, 48.8584, 2.2945, "2024:05:17 14:03:09", null, gpsUtc: ("2024:05:17", 12, 3, 9)))), CancellationToken.None);
        Assert.Equal(new DateTimeOffset(2024, 5, 17, 12, 3, 9, TimeSpan.Zero), gpsTime.Claim.TakenAt);

        // A camera clock with no zone cannot be placed in time: no claim rather than a wrong one.
        var noZone = await intake.AcceptAsync(new MemoryStream(ExifBytes.WithExif(jpeg, ExifBytes.Tiff(true, 48.8584, 2.2945, "2024:05:17 14:03:09", null))), CancellationToken.None);
        Assert.Null(noZone.Claim.TakenAt);
        Assert.NotNull(noZone.Claim.Latitude);

        var none = await intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None);
        Assert.Equal(PhotoClaim.None, none.Claim);
    }

    [Fact]
    public async Task AcceptAsync_BrokenExif_PhotoAcceptedWithoutClaim()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var jpeg = PhotoBytes.Jpeg(160, 120);
        var good = ExifBytes.Tiff(true, 52.37, 4.89, "2024:05:17 14:03:09", "+02:00");
        var broken = new (string Name, byte[] Tiff)[]
        {
            ("ifd0 out of bounds", Patch(good, 4, [0xF0, 0xFF, 0xFF, 0x7F])),
            ("entry count huge", Patch(good, 8, [0xFF, 0xFF])),
            ("not TIFF", Patch(good, 0, "XX"u8.ToArray())),
            ("no magic", Patch(good, 2, [0, 0])),
            ("truncated block", good[..20]),
            ("latitude 95", ExifBytes.Tiff(true, 95, 4.89, "2024:13:45 99:03:09", "+02:00")),
            ("null island", ExifBytes.Tiff(true, 0, 0, "not a date", "+02:00")),
        };

        foreach (var (name, tiff) in broken)
        {
            var photo = await intake.AcceptAsync(new MemoryStream(ExifBytes.WithExif(jpeg, tiff)), CancellationToken.None);
            output.WriteLine($"{name}: {photo.Claim}");
            Assert.True(photo.Claim.Latitude is null && photo.Claim.Longitude is null, $"{name}: a position was read: {photo.Claim}");
            Assert.True(photo.Claim.TakenAt is null, $"{name}: a time was read: {photo.Claim}");
            PhotoBytes.AssertCleanJpeg(photo.Jpeg, name);
        }
    }

    [Fact]
    public async Task AcceptAsync_PngAndWebp_AcceptedAsJpeg_PngExifClaimRead()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var png = PhotoBytes.PngWithChunk(PhotoBytes.Png(200, 150), "eXIf", ExifBytes.Tiff(false, 40.6892, -74.0445, "2023:11:02 08:00:00", "-04:00"));
        var fromPng = await intake.AcceptAsync(new MemoryStream(png), CancellationToken.None);
        Assert.Equal((200, 150), (fromPng.Width, fromPng.Height));
        Assert.Equal(40.6892, fromPng.Claim.Latitude!.Value, 6);
        Assert.Equal(-74.0445, fromPng.Claim.Longitude!.Value, 6);
        PhotoBytes.AssertCleanJpeg(fromPng.Jpeg, "png");

        var fromWebp = await intake.AcceptAsync(new MemoryStream(PhotoBytes.Webp(200, 150)), CancellationToken.None);
        Assert.Equal((200, 150), (fromWebp.Width, fromWebp.Height));
        PhotoBytes.AssertCleanJpeg(fromWebp.Jpeg, "webp");

        // A little zero padding after the image's end is what some writers leave: not a polyglot.
        var padded = await intake.AcceptAsync(new MemoryStream([.. PhotoBytes.Jpeg(64, 48), .. new byte[16]]), CancellationToken.None);
        PhotoBytes.AssertCleanJpeg(padded.Jpeg, "padded");
    }

    [Fact]
    public async Task AcceptAsync_PhoneTrailers_MotionPhotoVideoAndMultiPictureJpeg_AcceptedAndDropped_ButAnAppendedScriptIsNot()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var jpeg = PhotoBytes.Jpeg(160, 120);
        // A motion photo: the JPEG, then an MP4 whose first box is 'ftyp'.
        byte[] mp4 = [0, 0, 0, 24, .. "ftypmp42"u8, 0, 0, 0, 0, .. "isommp42"u8, 0, 0, 0, 8, .. "mdat"u8];
        var motion = await intake.AcceptAsync(new MemoryStream([.. jpeg, .. mp4]), CancellationToken.None);
        PhotoBytes.AssertCleanJpeg(motion.Jpeg, "motion photo");
        Assert.True(motion.Jpeg.AsSpan().IndexOf("ftyp"u8) < 0, "the video was carried into the output");
        // Multi-Picture Format: a second (depth or preview) JPEG after the first.
        var mpf = await intake.AcceptAsync(new MemoryStream([.. jpeg, .. PhotoBytes.Jpeg(32, 24, seed: 2)]), CancellationToken.None);
        Assert.Equal((160, 120), (mpf.Width, mpf.Height));
        var script = await Assert.ThrowsAsync<PhotoRejectedException>(() => intake.AcceptAsync(new MemoryStream([.. jpeg, .. mp4, .. "<script>alert(1)</script>"u8]), CancellationToken.None));
        Assert.Equal(PhotoRejection.Polyglot, script.Reason);
    }

    [Fact]
    public async Task AcceptAsync_BadUploads_RefusedWithReasonAndClearMessage()
    {
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions());
        var jpeg = PhotoBytes.Jpeg(160, 120);
        var png = PhotoBytes.Png(64, 48);
        var webp = PhotoBytes.Webp(64, 48);
        var cases = new (string Name, byte[] Bytes, string Reason, string? Says)[]
        {
            ("empty", [], PhotoRejection.Empty, "empty"),
            ("html", Encoding.UTF8.GetBytes("<html><script>alert(1)</script></html>"), PhotoRejection.NotAnImage, "not a photo"),
            ("svg", Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"), PhotoRejection.NotAnImage, null),
            ("pdf", Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), PhotoRejection.NotAnImage, null),
            ("random", PhotoBytes.Random(new Random(7), 5000), PhotoRejection.NotAnImage, null),
            ("heic", PhotoBytes.Heic(), PhotoRejection.UnsupportedFormat, "JPEG"),
            ("gif", "GIF89a\x01\0\x01\0\0\0\0;"u8.ToArray(), PhotoRejection.UnsupportedFormat, "JPEG"),
            ("bmp", [.. "BM"u8, .. new byte[60]], PhotoRejection.UnsupportedFormat, "JPEG"),
            ("jpeg cut at 40%", jpeg[..(jpeg.Length * 2 / 5)], PhotoRejection.Truncated, "incomplete"),
            ("jpeg without EOI", jpeg[..^2], PhotoRejection.Truncated, "incomplete"),
            ("png cut", png[..(png.Length - 20)], PhotoRejection.Truncated, "incomplete"),
            ("webp cut", webp[..(webp.Length / 2)], PhotoRejection.Truncated, "incomplete"),
            ("png 100000x100000", PhotoBytes.WithPngSize(png, 100_000, 100_000), PhotoRejection.TooManyPixels, "megapixels"),
            ("jpeg 65500x65500", PhotoBytes.WithJpegSize(jpeg, 65_500, 65_500), PhotoRejection.TooManyPixels, "megapixels"),
            ("jpeg broken frame header", PhotoBytes.WithJpegPrecision(jpeg, 0), PhotoRejection.NotAnImage, "damaged"),
            ("jpeg + zip", [.. jpeg, .. PhotoBytes.Zip("payload.txt", "hello")], PhotoRejection.Polyglot, "after the image"),
            ("jpeg + html", [.. jpeg, .. "<html><script>alert(1)</script></html>"u8], PhotoRejection.Polyglot, "after the image"),
            ("jpeg + jar", [.. jpeg, .. PhotoBytes.Zip("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: X\n")], PhotoRejection.Polyglot, null),
            ("script in jpeg comment", ExifBytes.WithSegment(jpeg, 0xFE, "<script>alert(document.cookie)</script>"u8.ToArray()), PhotoRejection.Polyglot, "HTML or a script"),
            ("zip in jpeg APP segment", ExifBytes.WithSegment(jpeg, 0xE9, PhotoBytes.Zip("a.txt", "x")), PhotoRejection.Polyglot, "archive"),
            ("pdf in jpeg comment", ExifBytes.WithSegment(jpeg, 0xFE, "%PDF-1.4 hidden"u8.ToArray()), PhotoRejection.Polyglot, "PDF"),
            ("png + php", [.. png, .. "<?php system($_GET['c']); ?>"u8], PhotoRejection.Polyglot, null),
            ("svg in png text", PhotoBytes.PngWithChunk(png, "tEXt", "Comment\0<svg onload=alert(1)>"u8.ToArray()), PhotoRejection.Polyglot, "HTML or a script"),
            ("webp + trailer", [.. webp, .. "<script>x()</script>"u8], PhotoRejection.Polyglot, null),
        };

        foreach (var (name, bytes, reason, says) in cases)
        {
            var ex = await Assert.ThrowsAsync<PhotoRejectedException>(() => intake.AcceptAsync(new MemoryStream(bytes), CancellationToken.None));
            output.WriteLine($"{name}: {ex.Reason}: {ex.Message}");
            Assert.True(ex.Reason == reason, $"{name}: refused as {ex.Reason} ({ex.Message}), expected {reason}");
            Assert.EndsWith(".", ex.Message, StringComparison.Ordinal);
            if (says is not null) Assert.True(ex.Message.Contains(says, StringComparison.OrdinalIgnoreCase), $"{name}: '{ex.Message}' does not say {says}");
        }

        // The same intake still accepts a good photo afterwards: no refusal leaked a slot.
        Assert.Equal(0, intake.InFlight);
        Assert.Equal(160, (await intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None)).Width);
    }

    [Fact]
    public async Task AcceptAsync_BodyOverLimit_RefusedAfterReadingAtMostOneByteMore()
    {
        const int Limit = 64 * 1024;
        using var intake = new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxBytes = Limit });
        // A 10 MB body whose stream claims 1 KB, in small reads (a network body arrives so).
        var body = new CountingStream([.. PhotoBytes.Jpeg(64, 48), .. new byte[10 * 1024 * 1024]], declaredLength: 1024, chunk: 1500);
        var ex = await Assert.ThrowsAsync<PhotoRejectedException>(() => intake.AcceptAsync(body, CancellationToken.None));
        Assert.Equal(PhotoRejection.TooLarge, ex.Reason);
        Assert.InRange(body.BytesRead, Limit + 1, Limit + 1);

        // Exactly at the limit is fine (padded with zeros after EOI would be a polyglot, so the photo itself is sized).
        var small = PhotoBytes.Jpeg(64, 48);
        using var exact = new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxBytes = small.Length });
        Assert.Equal(64, (await exact.AcceptAsync(new CountingStream(small, declaredLength: 1L << 40, chunk: 7), CancellationToken.None)).Width);
        var over = await Assert.ThrowsAsync<PhotoRejectedException>(() => exact.AcceptAsync(new MemoryStream([.. small, 0]), CancellationToken.None));
        Assert.Equal(PhotoRejection.TooLarge, over.Reason);
    }

    [Fact]
    public void Constructor_BadOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxBytes = int.MaxValue }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxConcurrent = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxQueued = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { QueueWait = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PhotoIntake(_redactor, new PhotoIntakeOptions { MaxPixels = 0 }));
    }

    private static byte[] Patch(byte[] bytes, int at, byte[] with)
    {
        var copy = (byte[])bytes.Clone();
        with.CopyTo(copy, at);
        return copy;
    }

    private static bool Overlaps(BoxF a, BoxF b) => a.IntersectionArea(b) >= 0.3f * Math.Min(a.Area, b.Area);
}

/// <summary>A body stream that counts what was read, reads in small pieces and declares a length of its own choosing.</summary>
internal sealed class CountingStream(byte[] data, long declaredLength, int chunk) : Stream
{
    private int _position;

    public long BytesRead => _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => declaredLength;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Photos and hostile files built from bytes: generated images, EXIF blocks, segments and chunks.</summary>
internal static class PhotoBytes
{
    public static byte[] Jpeg(int w, int h, int seed = 1) => Encode(Picture(w, h, seed), SKEncodedImageFormat.Jpeg);

    public static byte[] Png(int w, int h, int seed = 1) => Encode(Picture(w, h, seed), SKEncodedImageFormat.Png);

    public static byte[] Webp(int w, int h, int seed = 1) => Encode(Picture(w, h, seed), SKEncodedImageFormat.Webp);

    public static byte[] Random(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The header of an iPhone's HEIC (ftyp box with the heic brand) and a little of what follows.</summary>
    public static byte[] Heic() => [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8, 0, 0, 0, 0x20, .. "meta"u8, .. new byte[40]];

    /// <summary>The offset of the JPEG's frame header (SOF) segment marker.</summary>
    public static int SofAt(byte[] jpeg)
    {
        var i = 2;
        while (jpeg[i] == 0xFF && jpeg[i + 1] is not (0xC0 or 0xC1 or 0xC2)) i += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(i + 2));
        return i;
    }

    public static byte[] WithJpegSize(byte[] jpeg, int width, int height)
    {
        var bytes = (byte[])jpeg.Clone();
        var sof = SofAt(bytes);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(sof + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(sof + 7), (ushort)width);
        return bytes;
    }

    public static byte[] WithJpegPrecision(byte[] jpeg, byte bits)
    {
        var bytes = (byte[])jpeg.Clone();
        bytes[SofAt(bytes) + 4] = bits;
        return bytes;
    }

    /// <summary>The same PNG with another size in its IHDR chunk (CRC recomputed, so only the size gives it away).</summary>
    public static byte[] WithPngSize(byte[] png, int width, int height)
    {
        var bytes = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(29), Crc32(bytes.AsSpan(12, 17)));
        return bytes;
    }

    /// <summary>The PNG with one more chunk right after IHDR.</summary>
    public static byte[] PngWithChunk(byte[] png, string type, byte[] data) => [.. png[..33], .. Chunk(type, data), .. png[33..]];

    public static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    public static byte[] Zip(string name, string content)
    {
        var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = new StreamWriter(zip.CreateEntry(name).Open());
            entry.Write(content);
        }

        return stream.ToArray();
    }

    /// <summary>A JPEG that starts with SOI, decodes, and carries no APPn (n &gt; 0) or comment segment, no EXIF or XMP.</summary>
    public static void AssertCleanJpeg(byte[] jpeg, string what)
    {
        Assert.True(jpeg is [0xFF, 0xD8, 0xFF, ..], $"{what}: not a JPEG");
        using (var codec = SKCodec.Create(new MemoryStream(jpeg)))
        {
            Assert.True(codec is { EncodedFormat: SKEncodedImageFormat.Jpeg }, $"{what}: the output does not decode as a JPEG");
            using var bitmap = SKBitmap.Decode(codec);
            Assert.True(bitmap is not null, $"{what}: the output's pixels do not decode");
        }

        var text = Encoding.Latin1.GetString(jpeg);
        foreach (var marker in new[] { "Exif", "http://ns.adobe.com/xap", "XMP-MARKER", "ICC_PROFILE" })
        {
            Assert.False(text.Contains(marker, StringComparison.Ordinal), $"{what}: the output carries {marker}");
        }

        var i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA)
        {
            Assert.False(jpeg[i + 1] is 0xFE or (>= 0xE1 and <= 0xEF), $"{what}: the output carries segment 0x{jpeg[i + 1]:X2}");
            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(i + 2));
        }
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }

        return ~crc;
    }

    // A picture with edges and texture, so JPEG has entropy-coded data worth the name.
    private static SKBitmap Picture(int w, int h, int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(w, h);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor(90, 140, 200));
        using var paint = new SKPaint { IsAntialias = true };
        for (var i = 0; i < 12; i++)
        {
            paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            canvas.DrawCircle(random.Next(w), random.Next(h), random.Next(4, Math.Max(5, w / 4)), paint);
        }

        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        {
            using var data = bitmap.Encode(format, 90) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}.");
            return data.ToArray();
        }
    }
}
