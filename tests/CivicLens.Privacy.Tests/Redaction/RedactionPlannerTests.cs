using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;
using CivicLens.Privacy.Redaction;

namespace CivicLens.Privacy.Tests.Redaction;

public class RedactionPlannerTests
{
    private static readonly ModelLabels Coco = ModelLabels.Coco80;

    private static Detection Det(string label, BoxF box) =>
        new(box, Coco.TryGetId(label, out var id) ? id : throw new ArgumentException(label), 0.9f);

    [Fact]
    public void Plan_Person_HidesHeadRegionAtTopOfBox()
    {
        var planner = new RedactionPlanner(new RedactionOptions(), Coco, faces: null);
        var regions = new List<BoxF>();
        planner.Plan(new byte[200 * 200 * 3], 200, 200, [Det("person", new BoxF(50, 40, 30, 100))], regions);

        var head = Assert.Single(regions);
        Assert.True(head.Y <= 40 && head.Bottom >= 40 + 100 * 0.3f, $"head region {head} must cover the top 30% of the person");
        Assert.True(head.X < 50 && head.Right > 80, "head region must be wider than the box (heads tilt and boxes are loose)");
        Assert.True(head.Bottom < 140, "head region must not hide the whole person");
    }

    [Fact]
    public void Plan_Vehicle_HidesPlateBandAtBottom()
    {
        var planner = new RedactionPlanner(new RedactionOptions(), Coco, faces: null);
        var regions = new List<BoxF>();
        planner.Plan(new byte[300 * 300 * 3], 300, 300, [Det("car", new BoxF(100, 100, 120, 80))], regions);

        var band = Assert.Single(regions);
        Assert.True(band.Bottom >= 180 && band.Y <= 180 - 80 * 0.5f, $"plate band {band} must cover the lower half of the vehicle");
    }

    [Fact]
    public void Plan_Dog_HidesNothing()
    {
        var planner = new RedactionPlanner(new RedactionOptions(), Coco, faces: null);
        var regions = new List<BoxF>();
        planner.Plan(new byte[100 * 100 * 3], 100, 100, [Det("dog", new BoxF(10, 10, 50, 50))], regions);
        Assert.Empty(regions);
    }

    [Fact]
    public void Plan_WithFaceLocator_SearchesWholeFrameAndTallPersonCrops()
    {
        var faces = new RecordingFaceLocator(new BoxF(60, 45, 10, 10));
        var planner = new RedactionPlanner(new RedactionOptions(), Coco, faces);
        var regions = new List<BoxF>();
        planner.Plan(new byte[200 * 200 * 3], 200, 200,
            [Det("person", new BoxF(50, 40, 30, 100)), Det("person", new BoxF(150, 150, 8, 20))], regions);

        Assert.Equal(2, faces.Regions.Count); // whole frame + the tall person's upper body; the 20 px person is too small
        Assert.Equal(new BoxF(0, 0, 200, 200), faces.Regions[0]);
        Assert.Contains(regions, r => r.Contains(60, 45) && r.Contains(70, 55));
    }

    private sealed class RecordingFaceLocator(BoxF face) : IFaceLocator
    {
        public List<BoxF> Regions { get; } = [];

        public void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces)
        {
            Regions.Add(region);
            if (region.Contains(face.CenterX, face.CenterY)) faces.Add(face);
        }
    }
}

internal static class BoxTestExtensions
{
    public static bool Contains(this BoxF box, float x, float y) => x >= box.X && x <= box.Right && y >= box.Y && y <= box.Bottom;
}
