using CivicLens.Domain.Geometry;
using CivicLens.Privacy.Redaction;

namespace CivicLens.Privacy.Tests.Redaction;

public class PixelatorTests
{
    private static byte[] Gradient(int w, int h)
    {
        var px = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 3;
                px[i] = (byte)(x * 7);
                px[i + 1] = (byte)(y * 5);
                px[i + 2] = (byte)((x * y) % 251);
            }

        return px;
    }

    [Fact]
    public void Pixelate_Region_ChangesOnlyInsideAndMakesUniformBlocks()
    {
        const int w = 64, h = 48;
        var px = Gradient(w, h);
        var original = (byte[])px.Clone();
        var region = new BoxF(10, 8, 30, 30);

        Pixelator.Pixelate(px, w, h, region, minBlock: 6, maxBlocksAcross: 5);

        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var inside = x >= 10 && x < 40 && y >= 8 && y < 38;
                var i = (y * w + x) * 3;
                if (!inside) Assert.Equal(original[i], px[i]);
            }

        // 30 px / 5 blocks => 6 px blocks: every pixel of the first block equals the block's first pixel.
        var first = (8 * w + 10) * 3;
        for (var y = 8; y < 14; y++)
            for (var x = 10; x < 16; x++)
            {
                var i = (y * w + x) * 3;
                Assert.Equal(px[first], px[i]);
                Assert.Equal(px[first + 1], px[i + 1]);
            }

        // And the region really lost its detail.
        Assert.NotEqual(original[((20 * w) + 25) * 3], px[((20 * w) + 25) * 3]);
    }

    [Fact]
    public void Pixelate_FractionalBox_CoversEdgePixels()
    {
        const int w = 20, h = 20;
        var px = Gradient(w, h);
        Pixelator.Pixelate(px, w, h, new BoxF(4.6f, 4.6f, 6.8f, 6.8f), 2, 5);
        // Pixel (4,4) is partly covered by the box, so it is included (rounded outwards): the region is
        // 4..12, blocks are 2 px, and (4,4) shares its block with (5,5). (11,11) is the last covered pixel.
        Assert.Equal(px[(4 * w + 4) * 3], px[(5 * w + 5) * 3]);
        Assert.Equal(px[(11 * w + 11) * 3], px[(10 * w + 10) * 3]);
    }

    [Fact]
    public void Pixelate_BoxOutsideFrame_IsIgnored()
    {
        var px = Gradient(10, 10);
        var original = (byte[])px.Clone();
        Pixelator.Pixelate(px, 10, 10, new BoxF(50, 50, 10, 10), 2, 5);
        Assert.Equal(original, px);
    }

    [Fact]
    public void FillPolygon_Triangle_FillsInsideOnly()
    {
        const int w = 40, h = 40;
        var px = Gradient(w, h);
        var tri = new Polygon([new PointF(0, 0), new PointF(40, 0), new PointF(0, 40)]);
        Pixelator.FillPolygon(px, w, h, tri, 0, 0, 0);
        Assert.Equal(0, px[(5 * w + 5) * 3 + 1]);       // inside, near the corner
        Assert.NotEqual(0, px[(35 * w + 35) * 3 + 1]);  // outside, opposite corner
    }
}
