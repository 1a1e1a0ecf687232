using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Tests.Geometry;

public sealed class BoxFTests
{
    [Fact]
    public void Properties_OfABox_AreItsEdgesCentreAndArea()
    {
        var box = new BoxF(10, 20, 30, 40);
        Assert.Equal((40f, 60f, 25f, 40f, 1200f), (box.Right, box.Bottom, box.CenterX, box.CenterY, box.Area));
        Assert.Equal(box, BoxF.FromCorners(10, 20, 40, 60));
    }

    [Theory]
    [InlineData(0, 0, 10, 10, 1f)] // identical
    [InlineData(5, 0, 10, 10, 1f / 3)] // half overlap: 50 / (100 + 100 - 50)
    [InlineData(10, 0, 10, 10, 0f)] // touching edges
    [InlineData(50, 50, 10, 10, 0f)] // apart
    [InlineData(2, 2, 5, 5, 0.25f)] // inside: 25 / 100
    public void IoU_AgainstTenByTenBox_IsIntersectionOverUnion(float x, float y, float w, float h, float expected)
    {
        var a = new BoxF(0, 0, 10, 10);
        var b = new BoxF(x, y, w, h);
        Assert.Equal(expected, a.IoU(b), 5);
        Assert.Equal(expected, b.IoU(a), 5);
    }

    [Fact]
    public void AreaAndIoU_DegenerateBoxes_AreZero()
    {
        var flat = new BoxF(0, 0, 10, 0);
        var negative = new BoxF(0, 0, -5, 10);
        Assert.Equal(0f, flat.Area);
        Assert.Equal(0f, negative.Area);
        Assert.Equal(0f, flat.IoU(flat));
        Assert.Equal(0f, new BoxF(0, 0, 10, 10).IoU(negative));
    }

    [Fact]
    public void ClampTo_BoxPartlyOutside_KeepsThePartInside()
    {
        Assert.Equal(new BoxF(0, 0, 20, 10), new BoxF(-10, -5, 30, 15).ClampTo(100, 100));
        Assert.Equal(BoxF.FromCorners(90, 80, 100, 100), new BoxF(90, 80, 50, 50).ClampTo(100, 100));
    }

    [Fact]
    public void ClampTo_BoxFullyOutside_IsEmpty()
    {
        var clamped = new BoxF(200, 200, 10, 10).ClampTo(100, 100);
        Assert.Equal(0f, clamped.Area);
    }

    [Fact]
    public void Inflate_ByTenPercent_GrowsEachSideByTenPercentOfTheSize()
    {
        Assert.Equal(new BoxF(8, 16, 24, 48), new BoxF(10, 20, 20, 40).Inflate(0.1f));
        Assert.Equal(new BoxF(10, 20, 20, 40), new BoxF(10, 20, 20, 40).Inflate(0f));
    }

    [Fact]
    public void ToString_UsesInvariantCompactFormat()
    {
        Assert.Equal("[1.5,2 3x4.3]", new BoxF(1.5f, 2f, 3f, 4.25f).ToString());
    }
}
