using System.Text;
using CivicLens.Domain.Geometry;
using CivicLens.Pipeline.Stills;
using CivicLens.TestSupport;
using SkiaSharp;
using Xunit.Abstractions;

namespace CivicLens.Pipeline.Tests;

/// <summary>
/// Still images (evidence, exports, uploaded photos) through <see cref="StillRedactor"/>: the sample stills come out
/// with no face or plate that two independent checks can find, with every face and plate a person marked on them
/// hidden; bad files are refused with a clear error and leave nothing behind; no metadata of the source survives.
/// </summary>
public sealed class StillRedactionTests(ITestOutputHelper output, StillRedactionTests.Redactor redactor) : IClassFixture<StillRedactionTests.Redactor>
{
    public sealed class Redactor : IDisposable
    {
        public StillRedactor Value { get; } = StillRedactor.Open(TestAssets.ModelsDirectory);

        public void Dispose() => Value.Dispose();
    }

    /// <summary>
    /// What a person sees on the sample stills, marked by hand (pixels of the upright image): the faces and the plates.
    /// person.jpg shows a person from behind and dog.jpg no person; both must still come out clean.
    /// </summary>
    private static readonly (string Still, BoxF[] Faces, BoxF[] Plates)[] Marked =
    [
        ("messi5.jpg", [new BoxF(205, 65, 62, 70)], []),
        ("licenseplate_motion.jpg", [], [new BoxF(222, 222, 140, 78)]),
        ("person.jpg", [], []),
        ("dog.jpg", [], []),
    ];

    private readonly StillRedactor _redactor = redactor.Value;

    [Fact]
    public async Task SampleStills_NoFaceOrPlateSurvives_ByTwoIndependentChecks()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var originals = Marked.Select(m => TestAssets.Still(m.Still)).ToList();
        var outputs = new List<string>();
        foreach (var original in originals)
        {
            var target = Path.Combine(dir.Path, Path.GetFileName(original));
            var still = _redactor.RedactFile(original, target);
            output.WriteLine($"{Path.GetFileName(original)}: {still.Faces} faces, {still.Heads} heads, {still.PlateBands} plate bands");
            outputs.Add(target);
        }

        // 1. What a person marked is hidden: every marked face and plate lies under a flat redaction fill.
        for (var i = 0; i < Marked.Length; i++)
        {
            var before = RgbStill.Load(originals[i]);
            var after = RgbStill.Load(outputs[i]);
            foreach (var box in Marked[i].Faces.Concat(Marked[i].Plates))
            {
                var flatBefore = FlatShare(before, box);
                var flatAfter = FlatShare(after, box);
                output.WriteLine($"{Marked[i].Still} {box}: flat {flatBefore:P0} before, {flatAfter:P0} after");
                Assert.True(flatBefore < 0.6, $"{Marked[i].Still} {box} is already flat in the original ({flatBefore:P0}); the measure could not tell");
                Assert.True(flatAfter >= 0.9, $"{Marked[i].Still}: the marked region {box} is not hidden ({flatAfter:P0} flat)");
            }
        }

        // 2. OpenCV's Haar cascades (a different method): they see the marked faces and plates on the originals, and
        // on the outputs find nothing there.
        var haar = await IndependentCheck.RunAsync([.. originals, .. outputs]);
        for (var i = 0; i < Marked.Length; i++)
        {
            var (still, faces, plates) = Marked[i];
            foreach (var face in faces)
            {
                Assert.True(haar[originals[i]].Faces.Any(f => Overlaps(f, face)), $"the Haar check finds no face at {face} on the original {still}; it cannot tell a leak from nothing");
                var left = haar[outputs[i]].Faces.Where(f => Overlaps(f, face)).ToList();
                Assert.True(left.Count == 0, $"the Haar check finds a face on the redacted {still}: {string.Join(", ", left)}");
            }

            foreach (var plate in plates)
            {
                var left = haar[outputs[i]].Plates.Where(p => Overlaps(p, plate)).ToList();
                Assert.True(left.Count == 0, $"the Haar check finds a plate on the redacted {still}: {string.Join(", ", left)}");
            }

            // Anything else the cascades find (they also fire on wheels, lettering and the edges of fills) is listed.
            output.WriteLine($"{still}: Haar elsewhere {haar[outputs[i]].Faces.Count} face-like, {haar[outputs[i]].Plates.Count} plate-like regions");
        }

        // 3. The face detector, searched window by window: no face above threshold anywhere on any output, while it
        // does find the marked face on the original.
        using var scan = new FaceScan();
        for (var i = 0; i < Marked.Length; i++)
        {
            var left = scan.Find(RgbStill.Load(outputs[i]));
            Assert.True(left.Count == 0, $"faces on the redacted {Marked[i].Still}: {string.Join(", ", left)}");
            if (Marked[i].Faces.Length > 0)
            {
                var seen = scan.Find(RgbStill.Load(originals[i]));
                Assert.Contains(seen, f => Marked[i].Faces.Any(m => Overlaps(f, m)));
            }
        }
    }

    [Fact]
    public void Metadata_OfTheSource_NeverSurvives_AndOrientationIsApplied()
    {
        // person.jpg with an EXIF block (orientation 6: shown turned a quarter right; a GPS position; a description),
        // an XMP packet and a comment, each carrying a marker that must not come out.
        var source = File.ReadAllBytes(TestAssets.Still("person.jpg"));
        var tagged = WithMetadata(source, orientation: 6);
        var still = _redactor.Redact(tagged);
        var jpeg = still.Jpeg.ToArray();

        Assert.Equal((424, 640), (still.Width, still.Height));
        using (var codec = SKCodec.Create(new MemoryStream(jpeg)))
        {
            Assert.Equal((424, 640), (codec.Info.Width, codec.Info.Height));
            Assert.Equal(SKEncodedOrigin.TopLeft, codec.EncodedOrigin);
        }

        var text = Encoding.Latin1.GetString(jpeg);
        foreach (var marker in new[] { "Exif", "GPS-MARKER", "XMP-MARKER", "COMMENT-MARKER", "http://ns.adobe.com/xap/1.0/" })
        {
            Assert.DoesNotContain(marker, text, StringComparison.Ordinal);
        }

        Stills.PhotoBytes.AssertCleanJpeg(jpeg, "redacted photo");
        Assert.Contains("GPS-MARKER", Encoding.Latin1.GetString(tagged), StringComparison.Ordinal);
    }

    [Fact]
    public void BadFiles_AreRefusedWithAClearError_AndLeaveNothingBehind()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var jpeg = File.ReadAllBytes(TestAssets.Still("messi5.jpg"));
        var png = Png(64, 48);
        var cases = new (string Name, byte[] Bytes, string Says)[]
        {
            ("empty.jpg", [], "empty"),
            ("text.jpg", Encoding.UTF8.GetBytes("<html><script>alert(1)</script></html>"), "Not an image"),
            ("pdf.jpg", Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), "Not an image"),
            ("truncated.jpg", jpeg[..(jpeg.Length * 2 / 5)], "truncated"),
            // A frame header declaring 0-bit samples: the header is broken, not the pixels (scrambled entropy-coded
            // data is no test: libjpeg decodes it to noise, which is then redacted like any image).
            ("corrupt.jpg", Stills.PhotoBytes.WithJpegPrecision(jpeg, 0), "corrupt|Not an image"),
            // A decompression bomb's header: 60,000 x 60,000 pixels declared by a file of a few hundred bytes.
            ("bomb.png", Stills.PhotoBytes.WithPngSize(png, 60_000, 60_000), "megapixels"),
        };

        foreach (var (name, bytes, says) in cases)
        {
            var input = Path.Combine(dir.Path, name);
            File.WriteAllBytes(input, bytes);
            var target = Path.Combine(dir.Path, "out-" + Path.ChangeExtension(name, ".jpg"));
            var ex = Assert.ThrowsAny<StillRedactionException>(() => _redactor.RedactFile(input, target));
            output.WriteLine($"{name}: {ex.GetType().Name}: {ex.Message}");
            Assert.IsType<StillImageRejectedException>(ex);
            Assert.True(says.Split('|').Any(s => ex.Message.Contains(s, StringComparison.OrdinalIgnoreCase)), $"{name}: '{ex.Message}' does not say {says}");
            Assert.StartsWith(name, ex.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(target), $"{name}: an output was written");
        }

        Assert.Empty(Directory.GetFiles(dir.Path, "out-*"));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories));

        // Over a configured size limit: refused before it is read.
        using var small = StillRedactor.Open(TestAssets.ModelsDirectory, new StillRedactionOptions { MaxBytes = 1024 });
        var big = Assert.Throws<StillImageRejectedException>(() => small.RedactFile(TestAssets.Still("messi5.jpg"), Path.Combine(dir.Path, "big.jpg")));
        Assert.Contains("limit is 1024 bytes", big.Message, StringComparison.Ordinal);

        // A good image still goes through the same redactor afterwards.
        Assert.True(_redactor.Redact(png).Width == 64);
    }

    // Share of a box's pixels whose 3x3 neighbourhood is flat in every channel (a redaction fill, allowing JPEG noise).
    private static double FlatShare(RgbStill image, BoxF box)
    {
        int flat = 0, all = 0;
        var x0 = Math.Max(1, (int)box.X);
        var y0 = Math.Max(1, (int)box.Y);
        var x1 = Math.Min(image.Width - 1, (int)box.Right);
        var y1 = Math.Min(image.Height - 1, (int)box.Bottom);
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
            {
                all++;
                var isFlat = true;
                for (var c = 0; c < 3 && isFlat; c++)
                {
                    int lo = 255, hi = 0;
                    for (var dy = -1; dy <= 1; dy++)
                        for (var dx = -1; dx <= 1; dx++)
                        {
                            int v = image.Pixels[(y + dy) * image.Stride + (x + dx) * 3 + c];
                            lo = Math.Min(lo, v);
                            hi = Math.Max(hi, v);
                        }

                    isFlat = hi - lo <= 6;
                }

                if (isFlat) flat++;
            }

        return all == 0 ? 0 : flat / (double)all;
    }

    private static bool Overlaps(BoxF a, BoxF b) => a.IntersectionArea(b) >= 0.3f * Math.Min(a.Area, b.Area);

    private static byte[] WithMetadata(byte[] jpeg, ushort orientation)
    {
        // A little-endian TIFF: IFD0 with Orientation, ImageDescription and a GPS IFD pointer; the GPS IFD with a
        // latitude reference and a processing-method string holding the marker.
        var tiff = new MemoryStream();
        using (var w = new BinaryWriter(tiff, Encoding.ASCII, leaveOpen: true))
        {
            var description = Encoding.ASCII.GetBytes("GPS-MARKER home of the photographer\0");
            const int Ifd0 = 8;
            const int Ifd0Size = 2 + 3 * 12 + 4;
            const int GpsIfd = Ifd0 + Ifd0Size;
            const int GpsSize = 2 + 2 * 12 + 4;
            var descriptionAt = GpsIfd + GpsSize;
            var methodAt = descriptionAt + description.Length;
            w.Write("II"u8);
            w.Write((ushort)42);
            w.Write(Ifd0);
            w.Write((ushort)3);
            Entry(w, 0x010E, 2, description.Length, descriptionAt);
            w.Write((ushort)0x0112);
            w.Write((ushort)3);
            w.Write(1);
            w.Write(orientation);
            w.Write((ushort)0);
            Entry(w, 0x8825, 4, 1, GpsIfd);
            w.Write(0);
            w.Write((ushort)2);
            w.Write((ushort)0x0001);
            w.Write((ushort)2);
            w.Write(2);
            w.Write("N\0\0\0"u8);
            Entry(w, 0x001B, 7, description.Length, methodAt);
            w.Write(0);
            w.Write(description);
            w.Write(description);
        }

        byte[] exif = [.. "Exif\0\0"u8, .. tiff.ToArray()];
        byte[] xmp = [.. "http://ns.adobe.com/xap/1.0/\0"u8, .. "<x:xmpmeta><rdf:Description>XMP-MARKER 52.37N 4.89E</rdf:Description></x:xmpmeta>"u8];
        // Each segment goes right after SOI: the last added comes first (EXIF, XMP, comment).
        var withComment = ExifBytes.WithSegment(jpeg, 0xFE, "COMMENT-MARKER"u8.ToArray());
        return ExifBytes.WithSegment(ExifBytes.WithSegment(withComment, 0xE1, xmp), 0xE1, exif);
    }

    private static void Entry(BinaryWriter w, ushort tag, ushort type, int count, int offset)
    {
        w.Write(tag);
        w.Write(type);
        w.Write(count);
        w.Write(offset);
    }

    private static byte[] Png(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(new SKColor(120, 160, 90));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
