using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;
using CivicLens.Privacy.Redaction;

namespace CivicLens.Privacy.Tests.Redaction;

public class StaticMaskScalingTests
{
    [Fact]
    public void ApplyStaticMasks_FrameTwiceTheMaskSpace_BlacksOutTheScaledArea()
    {
        var options = new RedactionOptions();
        var mask = new Polygon([new PointF(10, 10), new PointF(50, 10), new PointF(50, 50), new PointF(10, 50)]);
        var redactor = new FrameRedactor(new RedactionPlanner(options, ModelLabels.Coco80, null), options, [mask], (100, 100));
        var rgb = Enumerable.Repeat((byte)200, 200 * 200 * 3).ToArray();

        redactor.ApplyStaticMasks(rgb, 200, 200);

        byte At(int x, int y) => rgb[(y * 200 + x) * 3];
        Assert.Equal(0, At(60, 60));     // inside the scaled mask (20..100)
        Assert.Equal(0, At(95, 95));
        Assert.Equal(200, At(110, 110)); // outside it
        Assert.Equal(200, At(15, 15));   // inside the unscaled mask only
    }
}
