using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Inference.Faces;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Pipeline.Tests;

/// <summary>The whole pipeline on the real sample footage with the real models.</summary>
public class AnalysisRunnerTests
{
    private static async Task<(AnalysisOutput Output, Output.AnalysisSummary Summary)> AnalyseAsync(long frames, string? snapshots = null, bool motionGate = true)
    {
        using var buffer = new MemoryStream();
        var summary = await AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = TestAssets.SampleVideo,
            ModelsDirectory = TestAssets.ModelsDirectory,
            MaxFrames = frames,
            SnapshotDirectory = snapshots,
            UseMotionGate = motionGate,
        }, buffer, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        return (new AnalysisOutput(buffer.ToArray()), summary);
    }

    [Fact]
    public async Task RunAsync_SampleFootage_TracksPedestriansAndParkedVanWithStableIds()
    {
        var (output, summary) = await AnalyseAsync(200); // the first 20 s

        Assert.Equal(200, summary.Frames);
        var spans = output.Spans();
        var people = spans.Where(s => s.Label == "person").ToList();
        // A person watching the first 20 s sees about a dozen pedestrians; several cross the whole walkway.
        Assert.InRange(people.Count, 8, 30);
        Assert.True(people.Count(p => p.Duration >= 8) >= 3,
            "at least three pedestrians keep one id for 8 s or more: " + string.Join(", ", people.Select(p => $"#{p.Id} {p.Duration:0.0}s")));

        // The white van parked at the top of the walkway (x ~650-720, y ~45-97) holds one track for the whole clip.
        var van = spans.Where(s => s.Label is "truck" or "bus" or "car" && s.FirstBox[0] is > 600 and < 700 && s.FirstBox[1] < 100).ToList();
        var vanTrack = Assert.Single(van);
        Assert.True(vanTrack.From <= 1.0 && vanTrack.To >= 19.5, $"van tracked from {vanTrack.From} to {vanTrack.To}");

        // Every track line refers to a track that had an 'appeared' event; event ids are unique.
        var appeared = output.Events.Where(e => e.GetProperty("kind").GetString() == "object.appeared")
            .Select(e => e.GetProperty("track").GetInt64()).ToHashSet();
        Assert.All(spans, s => Assert.Contains(s.Id, appeared));
        var ids = output.Events.Select(e => e.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task RunAsync_SameFootageTwice_ProducesTheSameEventIds()
    {
        var first = await AnalyseAsync(60, motionGate: false);
        var second = await AnalyseAsync(60, motionGate: false);

        var a = first.Output.Events.Select(e => e.GetProperty("id").GetString()).ToList();
        var b = second.Output.Events.Select(e => e.GetProperty("id").GetString()).ToList();
        Assert.NotEmpty(a);
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task RunAsync_WithSnapshots_StoresNoFaceTheFaceDetectorCanFind()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var (output, summary) = await AnalyseAsync(120, dir.Path);

        var files = Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal).ToList();
        Assert.True(summary.Snapshots >= 3, $"expected snapshots of the appearing pedestrians, got {summary.Snapshots}");
        Assert.Equal(files.Count, (int)summary.Snapshots);
        Assert.All(files, f => Assert.EndsWith(".jpg", f, StringComparison.Ordinal));

        // An independent check with the face detector, run whole-frame and on overlapping tiles (it finds the
        // walkway's small faces only when they fill more of its input). On this footage BlazeFace also scores
        // background clutter up to about 0.66, so "a face" here means a score of 0.7 or more, which it gives
        // real pedestrians' faces in the original frames: the same scan must find some there, or it proves nothing.
        using var faces = new FaceDetector(TestAssets.BlazeFaceModel, new FaceDetectorOptions { ScoreThreshold = 0.7f });
        var leaks = new List<string>();
        var inOriginals = 0;
        foreach (var file in files)
        {
            var sequence = long.Parse(Path.GetFileNameWithoutExtension(file)["vtest-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            var bitmap = RgbStill.Load(file);
            var stored = bitmap.Pixels;
            var original = await ReadFrameAsync(TestAssets.SampleVideo, sequence, bitmap.Width, bitmap.Height);
            var people = output.Tracks
                .Where(t => t.GetProperty("frame").GetInt64() == sequence && t.GetProperty("label").GetString() == "person")
                .Select(t => t.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray())
                .Select(b => new BoxF(b[0], b[1], b[2], b[3]))
                .ToList();

            leaks.AddRange(Scan(faces, stored, bitmap.Width, bitmap.Height, people).Select(b => $"{Path.GetFileName(file)} {b}"));
            inOriginals += Scan(faces, original, bitmap.Width, bitmap.Height, people)
                .Count(f => people.Any(p => f.CenterX >= p.X && f.CenterX <= p.Right && f.CenterY >= p.Y && f.CenterY <= p.Y + p.Height * 0.35f));
        }

        Assert.True(leaks.Count == 0, "faces found in stored snapshots: " + string.Join("; ", leaks));
        Assert.True(inOriginals >= 1, $"the scan found {inOriginals} faces on pedestrians' heads in the original frames; it cannot tell a leak from nothing");
    }

    // The whole frame, overlapping tiles, and a square around each pedestrian's upper body.
    private static List<BoxF> Scan(FaceDetector faces, byte[] rgb, int width, int height, List<BoxF> people)
    {
        var found = new List<BoxF>();
        faces.Detect(rgb, width, height, width * 3, new BoxF(0, 0, width, height), found);
        foreach (var p in people)
        {
            var side = Math.Max(p.Width, p.Height * 0.5f) * 1.2f;
            faces.Detect(rgb, width, height, width * 3, new BoxF(p.CenterX - side / 2, p.Y - side * 0.1f, side, side), found);
        }

        for (var y = 0; y < height; y += 96)
            for (var x = 0; x < width; x += 96)
            {
                faces.Detect(rgb, width, height, width * 3, new BoxF(x, y, 192, 192), found);
            }

        return found;
    }

    // The unredacted frame the snapshot was made from, decoded independently of the pipeline.
    private static async Task<byte[]> ReadFrameAsync(string video, long sequence, int width, int height)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-nostdin", "-loglevel", "error", "-i", video, "-vf", $"select=eq(n\\,{sequence})", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-" })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var pixels = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(pixels);
        await process.WaitForExitAsync();
        Assert.True(pixels.Length == width * height * 3, $"ffmpeg returned {pixels.Length} bytes for frame {sequence}: {await stderr}");
        return pixels.ToArray();
    }

    [Fact]
    public async Task RunAsync_MissingFile_FailsWithClearError()
    {
        var ex = await Assert.ThrowsAsync<FrameSourceException>(() => AnalysisRunner.RunAsync(new AnalysisOptions
        {
            Source = "/nonexistent/cam.mp4",
            ModelsDirectory = TestAssets.ModelsDirectory,
        }, Stream.Null, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None));
        Assert.Contains("File not found", ex.Message, StringComparison.Ordinal);
    }
}
