using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Privacy.Redaction;
using CivicLens.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace CivicLens.Privacy.Tests.Redaction;

public class SnapshotWriterTests
{
    private static Frame Noise(int w, int h)
    {
        var f = Frame.CreateDetached(w, h);
        var rng = new Random(42);
        rng.NextBytes(f.Pixels);
        return f;
    }

    private static int PersonId => ModelLabels.Coco80.TryGetId("person", out var id) ? id : -1;

    [Fact]
    public void TryWrite_PersonInFrame_WritesJpegWithHeadPixelated()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var options = new RedactionOptions();
        var writer = new SnapshotWriter(dir.Path, new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options), NullLogger.Instance, jpegQuality: 100);
        var frame = Noise(160, 120);
        var person = new Detection(new BoxF(40, 20, 40, 90), PersonId, 0.9f);

        var path = writer.TryWrite(frame, [person], [new SnapshotAnnotation(person.Box, "person #1")], "cam-1.jpg");

        Assert.NotNull(path);
        Assert.Equal(Path.Combine(dir.Path, "cam-1.jpg"), path);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        using var decoded = SKBitmap.Decode(path);
        Assert.Equal(160, decoded.Width);
        // Inside the head region random noise became flat blocks: neighbouring pixels are (nearly) equal.
        var a = decoded.GetPixel(52, 30);
        var b = decoded.GetPixel(53, 31);
        Assert.InRange(Math.Abs(a.Red - b.Red), 0, 12);
        // The source frame itself is untouched (redaction works on a copy).
        Assert.Equal(Noise(160, 120).Pixels, frame.Pixels);
    }

    [Fact]
    public void TryRender_Scene_FillsEveryBoxWholeAndALittleBeyond_LeavesTheRestOfTheStreet()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var options = new RedactionOptions();
        var writer = new SnapshotWriter(dir.Path, new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options), NullLogger.Instance, jpegQuality: 100);
        var frame = Noise(160, 120);
        var person = new Detection(new BoxF(40, 20, 40, 90), PersonId, 0.9f);
        var car = new Detection(new BoxF(100, 80, 50, 30), 2, 0.8f);
        using var jpeg = new MemoryStream();

        Assert.True(writer.TryRender(frame, [person, car], live: null, scene: jpeg));

        using var decoded = SKBitmap.Decode(jpeg.ToArray());
        Assert.Equal((160, 120), (decoded.Width, decoded.Height));
        // Inside each box and its margin (a tenth of the box): flat grey, whatever the pixels were.
        foreach (var (x, y) in new[] { (60, 60), (37, 19), (82, 110), (125, 95), (146, 84) })
        {
            var c = decoded.GetPixel(x, y);
            Assert.True(Math.Abs(c.Red - SnapshotWriter.SceneMask) <= 3 && Math.Abs(c.Green - SnapshotWriter.SceneMask) <= 3, $"({x},{y}) is {c}");
        }

        // Outside: the noise is still there (neighbours differ), so the street is kept.
        var a = decoded.GetPixel(10, 10);
        var b = decoded.GetPixel(11, 10);
        var d = decoded.GetPixel(10, 11);
        Assert.True(Math.Abs(a.Red - b.Red) + Math.Abs(a.Red - d.Red) + Math.Abs(a.Green - b.Green) > 10, "the scene outside the boxes was flattened");
    }

    [Fact]
    public void MaskWhole_BoxesPastTheEdge_AreClipped()
    {
        var rgba = new byte[20 * 10 * 4];
        SnapshotWriter.MaskWhole(rgba, 20, 10, [new Detection(new BoxF(-5, -5, 10, 10), 0, 1f), new Detection(new BoxF(18, 8, 10, 10), 0, 1f)]);
        Assert.Equal(SnapshotWriter.SceneMask, rgba[0]);
        Assert.Equal(SnapshotWriter.SceneMask, rgba[(9 * 20 + 19) * 4]);
        Assert.Equal(0, rgba[(9 * 20 + 0) * 4]);
    }

    [Fact]
    public void TryWrite_RedactionFails_WritesNothingAndCountsDrop()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var options = new RedactionOptions();
        var planner = new RedactionPlanner(options, ModelLabels.Coco80, new ThrowingFaceLocator());
        var writer = new SnapshotWriter(dir.Path, new FrameRedactor(planner, options), NullLogger.Instance);

        var path = writer.TryWrite(Noise(64, 48), [], [], "x.jpg");

        Assert.Null(path);
        Assert.Equal(1, writer.DroppedCount);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Ctor_UnwritableFolder_ThrowsClearError()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var file = Path.Combine(dir.Path, "not-a-folder");
        File.WriteAllText(file, "x");
        var options = new RedactionOptions();
        var ex = Assert.Throws<IOException>(() => new SnapshotWriter(Path.Combine(file, "snaps"),
            new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options), NullLogger.Instance));
        Assert.Contains("not writable", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryWrite_FolderRemovedMidRun_DropsWithoutPartialFile()
    {
        using var dir = TestAssets.CreateTempDirectory();
        var snaps = Path.Combine(dir.Path, "snaps");
        var options = new RedactionOptions();
        var writer = new SnapshotWriter(snaps, new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options), NullLogger.Instance);
        Directory.Delete(snaps);

        Assert.Null(writer.TryWrite(Noise(32, 32), [], [], "a.jpg"));
        Assert.Equal(1, writer.DroppedCount);
        Assert.False(Directory.Exists(snaps));
    }

    [Fact]
    public void ApplyStaticMasks_Polygon_BlacksOutMaskedArea()
    {
        var options = new RedactionOptions();
        var mask = new Polygon([new PointF(0, 0), new PointF(20, 0), new PointF(20, 20), new PointF(0, 20)]);
        var redactor = new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options, [mask]);
        var frame = Noise(40, 40);
        redactor.ApplyStaticMasks(frame.Pixels, 40, 40);
        Assert.All(Enumerable.Range(0, 20), x => Assert.Equal(0, frame.Pixels[(10 * 40 + x) * 3]));
        Assert.Contains(Enumerable.Range(20, 20), x => frame.Pixels[(10 * 40 + x) * 3] != 0);
    }

    private sealed class ThrowingFaceLocator : IFaceLocator
    {
        public void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces) =>
            throw new InvalidOperationException("face model crashed");
    }
}
