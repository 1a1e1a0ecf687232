using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Pipeline.Stills;
using CivicLens.TestSupport;
using Microsoft.Extensions.Time.Testing;
using SkiaSharp;
using Xunit.Abstractions;

namespace CivicLens.Pipeline.Tests.Stills;

/// <summary>
/// Hostile uploads against <see cref="PhotoIntake"/> with the real models: a seeded generator (replay a failure with
/// <c>CIVICLENS_FUZZ_SEED</c>) of truncations, bit flips, oversized bodies with lying lengths, decompression bombs,
/// polyglots, random bytes and text posing as images. Nothing but a <see cref="PhotoRejectedException"/> may come out,
/// every accepted photo is a clean JPEG, memory stays bounded, and a full queue refuses rather than grows.
/// </summary>
public sealed class PhotoUploadFuzzTests(ITestOutputHelper output, PhotoUploadFuzzTests.Redactor redactor) : IClassFixture<PhotoUploadFuzzTests.Redactor>
{
    public sealed class Redactor : IDisposable
    {
        // The real models, one pass each (no zoom-out or tiles): this test is about what reaches the decoder and what
        // leaves the encoder; the full treatment of real photos is PhotoIntakeTests'. Keeps ~70 accepted uploads quick.
        public StillRedactor Value { get; } = StillRedactor.Open(TestAssets.ModelsDirectory, new StillRedactionOptions { ZoomOutFactors = [], DetectorTile = 0, FaceTile = 0 });

        public void Dispose() => Value.Dispose();
    }

    private const int DefaultSeed = 20_240_617;
    private const int MaxBytes = 1024 * 1024;
    private const long MaxPixels = 4_000_000;

    // Stated bound: the peak working set may grow by less than this over the whole run (the largest accepted
    // photo is 3.8 megapixels; see docs/privacy.md).
    private const long PeakGrowthBound = 600L * 1024 * 1024;

    // Managed allocations over the whole run (measured about 80 MB: pooled body buffers, the outputs and the frames).
    // Oversized bodies must cost at most MaxBytes + 1 each, whatever they declare.
    private const long ManagedBound = 512L * 1024 * 1024;

    private sealed record Case(string Kind, byte[] Bytes, long DeclaredLength, string Expected, Func<string?, bool> Holds);

    [Fact]
    public async Task AcceptAsync_SeededHostileUploads_OnlyRejectionsOrCleanJpegs_MemoryBounded()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CIVICLENS_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;
        var cases = Generate(new Random(seed));
        using var intake = new PhotoIntake(redactor.Value, new PhotoIntakeOptions { MaxBytes = MaxBytes, MaxPixels = MaxPixels });

        // Warm the models once, so their one-time allocations are not counted against the uploads.
        await intake.AcceptAsync(new MemoryStream(PhotoBytes.Jpeg(64, 48)), CancellationToken.None);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var peakBefore = process.PeakWorkingSet64;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();

        var failures = new List<string>();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var body = new CountingStream(c.Bytes, c.DeclaredLength, chunk: 64 * 1024);
            string? reason = null;
            try
            {
                var photo = await intake.AcceptAsync(body, CancellationToken.None);
                var problem = CheckOutput(photo);
                if (problem is not null) failures.Add($"#{i} {c.Kind}: accepted, but {problem}");
            }
            catch (PhotoRejectedException ex)
            {
                reason = ex.Reason;
                if (string.IsNullOrWhiteSpace(ex.Message)) failures.Add($"#{i} {c.Kind}: refused as {reason} with no message");
            }
            catch (Exception ex)
            {
                failures.Add($"#{i} {c.Kind}: {ex.GetType().Name}: {ex.Message}");
                continue;
            }

            var outcome = reason ?? "accepted";
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (!c.Holds(reason)) failures.Add($"#{i} {c.Kind}: {outcome}, expected {c.Expected}");
            if (body.BytesRead > MaxBytes + 1) failures.Add($"#{i} {c.Kind}: {body.BytesRead} bytes read, more than the limit and one");
        }

        clock.Stop();
        process.Refresh();
        var peakGrowth = process.PeakWorkingSet64 - peakBefore;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        output.WriteLine($"seed {seed}: {cases.Count} uploads in {clock.Elapsed.TotalSeconds:0.0} s; " + string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}")));
        output.WriteLine($"peak working set {peakBefore / 1048576} MB before, grew by {peakGrowth / 1048576} MB; managed allocations {allocated / 1048576} MB ({allocated / cases.Count / 1024} KB an upload)");

        Assert.True(failures.Count == 0, $"seed {seed} (replay with CIVICLENS_FUZZ_SEED={seed}): {failures.Count} failures:\n{string.Join("\n", failures.Take(30))}");
        Assert.True(allocated < ManagedBound, $"seed {seed}: {allocated / 1048576} MB of managed allocations over {cases.Count} uploads (bound {ManagedBound / 1048576} MB)");
        Assert.True(peakGrowth < PeakGrowthBound, $"seed {seed}: the peak working set grew by {peakGrowth / 1048576} MB over {cases.Count} uploads (bound {PeakGrowthBound / 1048576} MB)");
        // Every accepted kind and every refusal kind turned up, or the generator lost its teeth.
        foreach (var expected in new[] { "accepted", PhotoRejection.TooLarge, PhotoRejection.Empty, PhotoRejection.NotAnImage, PhotoRejection.Truncated, PhotoRejection.TooManyPixels, PhotoRejection.Polyglot, PhotoRejection.UnsupportedFormat })
        {
            Assert.True(outcomes.ContainsKey(expected), $"seed {seed}: no upload ended {expected}");
        }
    }

    [Fact]
    public async Task AcceptAsync_QueueFull_RefusesBusyAtOnceAndDoesNotGrow()
    {
        using var gate = new GatedDetector();
        using var still = new StillRedactor(gate, null, new StillRedactionOptions { ZoomOutFactors = [], DetectorTile = 0, FaceTile = 0 });
        using var intake = new PhotoIntake(still, new PhotoIntakeOptions { MaxConcurrent = 1, MaxQueued = 2 });
        var jpeg = PhotoBytes.Jpeg(64, 48);

        var running = intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None);
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)), "the first photo never reached the detector");
        Task<AcceptedPhoto>[] queued = [intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None), intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None)];
        Assert.Equal(3, intake.InFlight);

        // Beyond the queue: each is refused before the call returns, and the queue stays as it was.
        for (var i = 0; i < 20; i++)
        {
            var refused = intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None);
            Assert.True(refused.IsCompleted, $"upload {i} beyond the queue was left waiting");
            var ex = await Assert.ThrowsAsync<PhotoRejectedException>(() => refused);
            Assert.Equal(PhotoRejection.Busy, ex.Reason);
            Assert.Equal(3, intake.InFlight);
        }

        Assert.False(queued[0].IsCompleted || queued[1].IsCompleted);
        gate.Open();
        var done = await Task.WhenAll([running, .. queued]).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(done, p => Assert.Equal(64, p.Width));
        Assert.Equal(0, intake.InFlight);
    }

    [Fact]
    public async Task AcceptAsync_QueueWaitElapsed_RefusesBusy_CancelledWaitIsNotBusy()
    {
        var time = new FakeTimeProvider();
        using var gate = new GatedDetector();
        using var still = new StillRedactor(gate, null, new StillRedactionOptions { ZoomOutFactors = [], DetectorTile = 0, FaceTile = 0 });
        using var intake = new PhotoIntake(still, new PhotoIntakeOptions { MaxConcurrent = 1, MaxQueued = 2, QueueWait = TimeSpan.FromSeconds(10) }, time);
        var jpeg = PhotoBytes.Jpeg(64, 48);

        var running = intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None);
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)), "the first photo never reached the detector");
        var waiting = intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = intake.AcceptAsync(new MemoryStream(jpeg), cancel.Token);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(waiting.IsCompleted, "refused before its wait was over");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        time.Advance(TimeSpan.FromSeconds(1));
        var ex = await Assert.ThrowsAsync<PhotoRejectedException>(() => waiting);
        Assert.Equal(PhotoRejection.Busy, ex.Reason);
        Assert.Equal(1, intake.InFlight);

        gate.Open();
        Assert.Equal(64, (await running.WaitAsync(TimeSpan.FromSeconds(60))).Width);
        Assert.Equal(0, intake.InFlight);
        // The slot was given back: the next photo goes straight through.
        Assert.Equal(64, (await intake.AcceptAsync(new MemoryStream(jpeg), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60))).Width);
    }

    private static string? CheckOutput(AcceptedPhoto photo)
    {
        var jpeg = photo.Jpeg;
        if (jpeg is not [0xFF, 0xD8, 0xFF, ..]) return "the output is not a JPEG";
        if (Convert.ToHexStringLower(SHA256.HashData(jpeg)) != photo.Sha256) return "Sha256 does not match the bytes";
        var header = StillDecoder.ReadHeader(jpeg);
        if (header is not { Format: SKEncodedImageFormat.Jpeg } h || (h.Width, h.Height) != (photo.Width, photo.Height)) return "the output's header does not match";
        try
        {
            StillDecoder.Decode(jpeg, MaxPixels);
        }
        catch (StillRedactionException ex)
        {
            return $"the output does not decode: {ex.Message}";
        }

        var text = Encoding.Latin1.GetString(jpeg);
        if (text.Contains("Exif", StringComparison.Ordinal) || text.Contains("http://ns.adobe.com/xap", StringComparison.Ordinal)) return "the output carries metadata";
        var i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA)
        {
            if (jpeg[i + 1] is 0xFE or (>= 0xE1 and <= 0xEF)) return $"the output carries segment 0x{jpeg[i + 1]:X2}";
            i += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(i + 2));
        }

        return null;
    }

    private static List<Case> Generate(Random rng)
    {
        var jpeg = PhotoBytes.Jpeg(160, 120, seed: 3);
        var png = PhotoBytes.Png(96, 72, seed: 4);
        var webp = PhotoBytes.Webp(96, 72, seed: 5);
        var messi = File.ReadAllBytes(TestAssets.Still("messi5.jpg"));
        byte[][] bases = [jpeg, png, webp, messi];
        byte[] Pick() => bases[rng.Next(bases.Length)];
        static bool Any(string? r) => true;
        static bool Refused(string? r) => r is not null;
        static Func<string?, bool> Is(string reason) => r => r == reason;

        var cases = new List<Case>();
        void Add(string kind, byte[] bytes, string expected, Func<string?, bool> holds, long? declared = null) =>
            cases.Add(new Case(kind, bytes, declared ?? bytes.Length, expected, holds));

        // Untouched photos, and photos with random EXIF (a broken EXIF never refuses a photo).
        foreach (var b in bases) Add("valid", b, "accepted", r => r is null);
        for (var i = 0; i < 10; i++)
        {
            var tiff = ExifBytes.Tiff(rng.Next(2) == 0, rng.NextDouble() * 180 - 90, rng.NextDouble() * 360 - 180, "2024:05:17 14:03:09", "+02:00");
            for (var k = rng.Next(0, 6); k > 0; k--) tiff[rng.Next(tiff.Length)] ^= (byte)(1 << rng.Next(8));
            Add("random exif", ExifBytes.WithExif(jpeg, tiff), "accepted", r => r is null);
        }

        // A within-limit image of many flat pixels (a few KB compressed, 3.8 megapixels decoded), and one just over.
        Add("3.8 MP flat png", FlatPng(1900, 2000), "accepted", r => r is null);
        Add("4.2 MP flat png", FlatPng(2100, 2000), PhotoRejection.TooManyPixels, Is(PhotoRejection.TooManyPixels));

        for (var i = 0; i < 40; i++)
        {
            var b = Pick();
            Add("truncated", b[..rng.Next(0, b.Length)], "truncated, not-an-image or empty",
                r => r is PhotoRejection.Truncated or PhotoRejection.NotAnImage or PhotoRejection.Empty);
        }

        for (var i = 0; i < 60; i++)
        {
            var b = (byte[])Pick().Clone();
            var headerLength = b[0] == 0xFF ? Math.Min(b.Length, 600) : 100;
            for (var k = rng.Next(1, 5); k > 0; k--) b[rng.Next(headerLength)] ^= (byte)(1 << rng.Next(8));
            Add("header bit flips", b, "anything but a crash", Any);
        }

        for (var i = 0; i < 30; i++)
        {
            var b = (byte[])Pick().Clone();
            var at = rng.Next(b.Length);
            for (var k = rng.Next(1, 17); k > 0 && at < b.Length; k--) b[at++] = (byte)rng.Next(256);
            Add("overwritten bytes", b, "anything but a crash", Any);
        }

        for (var i = 0; i < 15; i++)
        {
            var big = PhotoBytes.Random(rng, MaxBytes + 1 + rng.Next(0, 3 * 1024 * 1024));
            jpeg.CopyTo(big, 0);
            // The declared length lies: small, exact-looking, or absurd.
            long declared = rng.Next(3) switch { 0 => rng.Next(1, 4096), 1 => MaxBytes, _ => long.MaxValue };
            Add("oversized, lying length", big, PhotoRejection.TooLarge, Is(PhotoRejection.TooLarge), declared);
        }

        for (var i = 0; i < 15; i++)
        {
            if (i % 2 == 0)
            {
                var w = rng.Next(2001, 100_001);
                var h = rng.Next((int)(MaxPixels / w) + 1, 100_001);
                Add($"png bomb {w}x{h}", BombPng(w, h), PhotoRejection.TooManyPixels, Is(PhotoRejection.TooManyPixels));
            }
            else
            {
                var w = rng.Next(2001, 65_501);
                var h = rng.Next((int)(MaxPixels / w) + 1, 65_501);
                Add($"jpeg bomb {w}x{h}", PhotoBytes.WithJpegSize(jpeg, w, h), PhotoRejection.TooManyPixels, Is(PhotoRejection.TooManyPixels));
            }
        }

        byte[][] payloads =
        [
            PhotoBytes.Zip("payload.txt", "hello"),
            PhotoBytes.Zip("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n"),
            "<html><body><script>alert(document.cookie)</script></body></html>"u8.ToArray(),
            "<?php system($_GET['c']); ?>"u8.ToArray(),
            "%PDF-1.7\n1 0 obj\n<< /JavaScript (app.alert(1)) >>\nendobj\n"u8.ToArray(),
            "<SvG OnLoAd=alert(1)>"u8.ToArray(),
            "<ScRiPt src=//x.example/a.js></sCrIpT>"u8.ToArray(),
        ];
        for (var i = 0; i < 40; i++)
        {
            var payload = payloads[rng.Next(payloads.Length)];
            var b = Pick();
            var inside = rng.Next(2) == 0;
            byte[] poly;
            string where;
            if (!inside)
            {
                poly = [.. b, .. payload];
                where = "appended";
            }
            else if (b[0] == 0xFF)
            {
                poly = ExifBytes.WithSegment(b, rng.Next(2) == 0 ? (byte)0xFE : (byte)(0xE2 + rng.Next(14)), payload);
                where = "in a JPEG segment";
            }
            else if (b[0] == 0x89)
            {
                poly = PhotoBytes.PngWithChunk(b, rng.Next(2) == 0 ? "tEXt" : "zzZz", payload);
                where = "in a PNG chunk";
            }
            else
            {
                poly = WebpWithChunk(b, "XMP ", payload);
                where = "in a WebP chunk";
            }

            Add($"polyglot {where}", poly, PhotoRejection.Polyglot, Is(PhotoRejection.Polyglot));
        }

        // GIFAR-like: a GIF with a JAR behind it.
        Add("gifar", [.. "GIF89a\x01\0\x01\0\0\0\0;"u8, .. payloads[1]], "unsupported-format or polyglot", r => r is PhotoRejection.UnsupportedFormat or PhotoRejection.Polyglot);
        Add("heic", PhotoBytes.Heic(), PhotoRejection.UnsupportedFormat, Is(PhotoRejection.UnsupportedFormat));

        for (var i = 0; i < 20; i++) Add("random bytes", PhotoBytes.Random(rng, rng.Next(0, 4097)), "refused", Refused);

        byte[][] magics = [[0xFF, 0xD8, 0xFF], [0x89, .. "PNG\r\n\x1A\n"u8], [.. "RIFF"u8, 0x10, 0, 0, 0, .. "WEBP"u8]];
        for (var i = 0; i < 20; i++)
        {
            var magic = magics[rng.Next(magics.Length)];
            Add("magic then random", [.. magic, .. PhotoBytes.Random(rng, rng.Next(0, 2049))], "refused", Refused);
        }

        string[] texts =
        [
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "<!DOCTYPE html><html><img src=x onerror=alert(1)></html>",
            "GIF89a/*<script>alert(1)</script>*/",
            "var x = 'photo.jpg'; fetch('/api/admin');",
            "\uFEFF<html>",
        ];
        for (var i = 0; i < 15; i++) Add("text as image", Encoding.UTF8.GetBytes(texts[rng.Next(texts.Length)]), "not-an-image or unsupported-format", r => r is PhotoRejection.NotAnImage or PhotoRejection.UnsupportedFormat);

        Add("empty", [], PhotoRejection.Empty, Is(PhotoRejection.Empty));
        return cases;
    }

    private static byte[] FlatPng(int w, int h)
    {
        using var bitmap = new SKBitmap(w, h);
        bitmap.Erase(new SKColor(110, 150, 90));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    // A PNG whose header declares w x h and whose data is a small deflate stream of zeros: a decompression bomb.
    private static byte[] BombPng(int w, int h)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8;
        ihdr[9] = 2;
        var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(new byte[1024 * 1024]);
        return [0x89, .. "PNG\r\n\x1A\n"u8, .. PhotoBytes.Chunk("IHDR", ihdr), .. PhotoBytes.Chunk("IDAT", idat.ToArray()), .. PhotoBytes.Chunk("IEND", [])];
    }

    // The WebP with one more chunk at its end, the RIFF size grown to match.
    private static byte[] WebpWithChunk(byte[] webp, string fourcc, byte[] data)
    {
        var chunk = new byte[8 + data.Length + (data.Length & 1)];
        Encoding.ASCII.GetBytes(fourcc).CopyTo(chunk, 0);
        BinaryPrimitives.WriteInt32LittleEndian(chunk.AsSpan(4), data.Length);
        data.CopyTo(chunk, 8);
        byte[] result = [.. webp, .. chunk];
        BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(4), result.Length - 8);
        return result;
    }

    /// <summary>A person detector that finds nothing and holds the first call until opened: the redactor is busy on demand.</summary>
    private sealed class GatedDetector : IObjectDetector
    {
        private readonly ManualResetEventSlim _open = new();

        public SemaphoreSlim Entered { get; } = new(0);

        public ModelLabels Labels => ModelLabels.Coco80;

        public int MaxBatchSize => 1;

        public void Open() => _open.Set();

        public void Detect(ReadOnlySpan<Frame> frames, ReadOnlySpan<List<Detection>> results)
        {
            Entered.Release();
            if (!_open.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the test never opened the gate");
            foreach (var r in results) r.Clear();
        }

        public void Dispose()
        {
            _open.Dispose();
            Entered.Dispose();
        }
    }
}
