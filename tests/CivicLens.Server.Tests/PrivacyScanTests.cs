using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CivicLens.Pipeline;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CivicLens.Server.Tests;

/// <summary>
/// The privacy promise checked from outside, as an auditor would: <c>serve</c> runs the sample camera on real footage
/// with sealed originals on; then every image anywhere under the data folder and every image the API serves is
/// searched for faces, and every other file and response is searched for an image hidden inside it.
/// </summary>
public sealed class PrivacyScanTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServeOnSampleFootage_NoFaceOnDiskOrInAnyApiResponse_OriginalsOnlySealed()
    {
        using var keys = new TempDirectory();
        var keyPath = Path.Combine(keys.Path, "sealing.key");
        SealingKey.Create(keyPath).Dispose();
        using var data = new TempDirectory();
        var config = await TestAssets.SampleConfigAsync(data.Path);

        using var scan = new FaceScan();
        var served = new List<(string What, byte[] Image)>();
        var originalFaces = 0;
        var responses = 0;
        await using (var server = await TestServer.StartAsync(tweak: o => o with
        {
            DataDirectory = data.Path,
            ConfigPath = config,
            RunPipelines = true,
            SampleFps = 5,
            SealedOriginals = new SealedOriginalsSettings(Path.Combine(data.Path, "sealed"), keyPath, TimeSpan.FromHours(72)),
        }))
        {
            var db = new SqliteConnectionStringBuilder(server.Options.EffectiveStorage.ConnectionString) { Pooling = false }.ConnectionString;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromMinutes(3) && await WithSnapshotsAsync(db) < 8) await Task.Delay(500);
            Assert.True(await WithSnapshotsAsync(db) >= 8, "the sample camera made fewer than 8 events with snapshots in 3 minutes");

            // Everything a viewer and an operator can read: lists, each event, its snapshot, cameras, cases, the register.
            var viewer = await server.StaffAsync(Roles.Viewer);
            var ids = new List<Guid>();
            var evidenced = new List<Guid>();
            string? next = null;
            do
            {
                var page = await GetAsync(viewer, "/api/events?limit=50" + (next is null ? "" : "&cursor=" + Uri.EscapeDataString(next)));
                responses++;
                using var json = JsonDocument.Parse(page.Body);
                ids.AddRange(json.RootElement.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetGuid()));
                next = json.RootElement.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            }
            while (next is not null);

            foreach (var id in ids)
            {
                await GetAsync(viewer, $"/api/events/{id}");
                var snapshot = await viewer.GetAsync($"/api/events/{id}/snapshot");
                responses += 2;
                if (snapshot.StatusCode == HttpStatusCode.NotFound) continue;
                Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
                served.Add(($"snapshot of {id}", await snapshot.Content.ReadAsByteArrayAsync()));
                evidenced.Add(id);
            }

            var operatorClient = await server.StaffAsync(Roles.Operator);
            foreach (var path in new[] { "/api/cameras", "/api/cameras/vtest", "/api/cameras/vtest/rules", "/api/cases", "/api/sites", "/api/areas", "/api/departments" })
            {
                await GetAsync(operatorClient, path);
                responses++;
            }

            using var anonymous = server.Client();
            foreach (var path in new[] { "/transparency", "/transparency/cameras.json", "/transparency/cameras.csv", "/transparency/statistics.json", "/transparency/cameras/vtest", "/transparency/cameras/vtest/sign", "/transparency/privacy" })
            {
                await GetAsync(anonymous, path);
                responses++;
            }

            // The check must be able to see a face: the sealed originals of the events with evidence, revealed through
            // the audited path, show some.
            var investigator = await server.StaffAsync(Roles.Investigator);
            foreach (var id in evidenced.Take(12))
            {
                var asked = await investigator.PostAsJsonAsync($"/api/events/{id}/reveal",
                    new { caseReference = "AUDIT-2026-001", reason = "Annual privacy audit: compare the stored images with the originals" });
                Assert.True(asked.StatusCode == HttpStatusCode.OK, $"reveal of {id}: {(int)asked.StatusCode} {await asked.Content.ReadAsStringAsync()}");
                var grant = (await asked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
                var original = RgbStill.TryDecode(await investigator.GetByteArrayAsync($"/api/reveals/{grant}/original"))!;
                originalFaces += scan.Find(original).Count;
            }

            output.WriteLine($"{ids.Count} events, {served.Count} snapshots served, {responses} responses read; {originalFaces} faces in the revealed originals");
            Assert.True(ids.Count >= 8 && served.Count >= 8, $"{ids.Count} events and {served.Count} snapshots served");
        }

        Assert.True(originalFaces >= 1, "the face scan found no face even in the unredacted originals; it cannot tell a leak from nothing");
        // The hidden-image search must find one: a served snapshot planted between random bytes.
        var planted = RandomNumberGenerator.GetBytes(1000).Concat(served[0].Image).Concat(RandomNumberGenerator.GetBytes(1000)).ToArray();
        Assert.Equal(1000, EmbeddedImage(planted));

        // The API's images (each distinct one scanned once: the files on disk are mostly the same bytes).
        var scanned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (what, image) in served)
        {
            if (!scanned.Add(Convert.ToHexString(SHA256.HashData(image)))) continue;
            var still = RgbStill.TryDecode(image);
            Assert.True(still is not null, $"{what} is not an image");
            var faces = scan.Find(still!);
            Assert.True(faces.Count == 0, $"faces in the {what}: {string.Join(", ", faces)} (kept as {Keep(what, image)})");
        }

        // Every file under the data folder (database, WAL, journal, snapshots, sealed originals, anchors, keys).
        var images = new List<string>();
        var files = Directory.GetFiles(data.Path, "*", SearchOption.AllDirectories);
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            var still = RgbStill.TryDecode(bytes);
            if (still is not null)
            {
                images.Add(file);
                if (!scanned.Add(Convert.ToHexString(SHA256.HashData(bytes)))) continue;
                var faces = scan.Find(still);
                Assert.True(faces.Count == 0, $"faces in {Path.GetRelativePath(data.Path, file)}: {string.Join(", ", faces)}");
                continue;
            }

            var at = EmbeddedImage(bytes);
            Assert.True(at < 0, $"{Path.GetRelativePath(data.Path, file)} holds an image at byte {at}");
        }

        var sealedFiles = Directory.GetFiles(Path.Combine(data.Path, "sealed"), "*.sealed", SearchOption.AllDirectories);
        output.WriteLine($"{files.Length} files on disk: {images.Count} images, {sealedFiles.Length} sealed originals");
        Assert.NotEmpty(sealedFiles);
        var chis = new List<double>();
        foreach (var file in sealedFiles)
        {
            // 64 bytes of header (magic, key id, time, size, nonce, tag), then the sealed frame.
            var chi = ChiSquare((await File.ReadAllBytesAsync(file)).AsSpan(64));
            Assert.True(chi < 600, $"{Path.GetFileName(file)} does not look encrypted (chi-square {chi:F0} over byte values)");
            chis.Add(chi);
        }

        // The control: a frame's raw pixels, which a sealed file would hold if it were not encrypted.
        var raw = ChiSquare(RgbStill.Load(images[0]).Pixels);
        Assert.True(raw >= 600, $"raw pixels score a chi-square of only {raw:F0}: the test cannot tell pixels from ciphertext");
        output.WriteLine($"sealed originals: chi-square {chis.Min():F0} to {chis.Max():F0} over byte values (random bytes: about 255, raw pixels {raw:F0})");

        Assert.DoesNotContain(images, i => i.StartsWith(Path.Combine(data.Path, "sealed"), StringComparison.Ordinal));
        Assert.True(images.Count >= 8, $"only {images.Count} images on disk");

        // A second method on the stored images: OpenCV's frontal and profile face cascades (they find faces of 20
        // pixels and more; the footage's are smaller, which the window-by-window scan above covers).
        var haar = await IndependentCheck.RunAsync(images);
        var haarFaces = haar.Sum(h => h.Value.Faces.Count);
        output.WriteLine($"Haar cascades: {haarFaces} face-like regions in {images.Count} stored images");
        // A cascade's find is a leak when the face detector, looking at just that place, agrees it is a face: the
        // cascades alone also fire on windows, bags and the edges of fills (and the detector alone scores such
        // clutter up to about 0.72, see FaceScan).
        using var confirm = new FaceScan();
        var confirmed = new List<string>();
        foreach (var (file, found) in haar.Where(h => h.Value.Faces.Count > 0))
        {
            var still = RgbStill.Load(file);
            foreach (var f in found.Faces)
            {
                var agree = confirm.FindAround(still, f).Where(b => b.IntersectionArea(f) > 0).ToList();
                output.WriteLine($"  {Path.GetFileName(file)} {f}: {(agree.Count > 0 ? "confirmed" : "not a face to the detector")}");
                if (agree.Count > 0) confirmed.Add($"{Path.GetFileName(file)} {f}");
            }
        }

        Assert.True(confirmed.Count == 0, "faces both methods find in stored images: " + string.Join("; ", confirmed));

        async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient client, string path)
        {
            using var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
            var type = response.Content.Headers.ContentType?.MediaType ?? "";
            Assert.False(type.StartsWith("image/", StringComparison.Ordinal), $"GET {path} answered an image ({type})");
            var text = Encoding.UTF8.GetString(body);
            // No image inlined either (a data: URI or base64 of a JPEG or PNG).
            foreach (var inline in new[] { "data:image", "/9j/", "iVBORw0KGgo" })
            {
                Assert.DoesNotContain(inline, text, StringComparison.Ordinal);
            }

            Assert.True(EmbeddedImage(body) < 0, $"GET {path} holds an image");
            return (response.StatusCode, text);
        }
    }

    // A leaking image kept for a person to look at (the temp folder of the test run goes away).
    private static string Keep(string what, byte[] image)
    {
        var dir = Path.Combine(Path.GetTempPath(), "civiclens-privacy-scan");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, string.Concat(what.Split(Path.GetInvalidFileNameChars().Append(' ').ToArray())) + ".jpg");
        File.WriteAllBytes(path, image);
        return path;
    }

    private static async Task<long> WithSnapshotsAsync(string connection)
    {
        await using var c = new SqliteConnection(connection);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(snapshot) FROM events";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    // The offset of an image hidden inside other bytes, or -1: a PNG signature or a JPEG start (SOI then an
    // APPn/DQT/SOF marker whose length fits) from which an image decodes. Only a decodable image counts: the sealed
    // originals are megabytes of ciphertext, where such a four-byte start turns up by chance in about one run in fifty.
    private static int EmbeddedImage(byte[] bytes)
    {
        ReadOnlySpan<byte> png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        for (var i = 0; i + 10 < bytes.Length; i++)
        {
            var start = bytes.AsSpan(i).StartsWith(png);
            if (!start && bytes[i] == 0xFF && bytes[i + 1] == 0xD8 && bytes[i + 2] == 0xFF && bytes[i + 3] is 0xE0 or 0xE1 or 0xDB or 0xC0 or 0xC4)
            {
                var length = (bytes[i + 4] << 8) | bytes[i + 5];
                start = length >= 4 && i + 4 + length <= bytes.Length;
            }

            if (start && RgbStill.TryDecode(bytes[i..]) is not null) return i;
        }

        return -1;
    }

    // Sealed originals must be ciphertext, not stored frames: after the header, every byte value is about equally
    // common (a chi-square test with 255 degrees of freedom: mean 255, spread about 23; raw pixels score in the
    // hundreds of thousands). The bound is over ten spreads above the mean, so chance alone never trips it.
    private static double ChiSquare(ReadOnlySpan<byte> bytes)
    {
        Span<long> counts = stackalloc long[256];
        foreach (var b in bytes) counts[b]++;
        var expected = bytes.Length / 256.0;
        var sum = 0.0;
        foreach (var c in counts) sum += (c - expected) * (c - expected) / expected;
        return sum;
    }
}
