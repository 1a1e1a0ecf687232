using CivicLens.Domain.Geometry;
using CivicLens.Inference.Faces;

namespace CivicLens.Inference.Tests.Faces;

public sealed class FaceInputSamplerTests
{
    [Fact]
    public void Fill_TallRegion_LetterboxesCentredWithBlackBarsAndScalesToMinusOneOne()
    {
        // 200x100 frame: left half (0,0,100,100) red-ish, right half blue-ish. Region: a 50x100 strip of the left half.
        const int w = 200, h = 100;
        var rgb = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = x < 100 ? ((byte)255, (byte)0, (byte)51) : ((byte)0, (byte)0, (byte)255);
            }
        }

        var sampler = new FaceInputSampler(64);
        var input = new float[64 * 64 * 3];

        var box = sampler.Fill(rgb, w, h, w * 3, new BoxF(25, 0, 50, 100), input);

        Assert.Equal(0.64f, box.Scale, 5);
        Assert.Equal(16f, box.OffsetX, 4);
        Assert.Equal(0f, box.OffsetY, 4);
        Assert.Equal([-1f, -1f, -1f], Pixel(input, 64, 5, 30)); // left bar
        Assert.Equal([-1f, -1f, -1f], Pixel(input, 64, 50, 30)); // right bar
        var centre = Pixel(input, 64, 32, 32);
        Assert.Equal(1f, centre[0], 5);
        Assert.Equal(-1f, centre[1], 5);
        Assert.Equal(51f * 2f / 255f - 1f, centre[2], 5);
    }

    [Fact]
    public void Fill_RegionAtOffset_SamplesThatPartOfTheFrame()
    {
        // A horizontal ramp: red = x. A 32x32 region at x=100 fills a 32x32 input 1:1.
        const int w = 256, h = 40;
        var rgb = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++) rgb[(y * w + x) * 3] = (byte)x;
        }

        var sampler = new FaceInputSampler(32);
        var input = new float[32 * 32 * 3];

        sampler.Fill(rgb, w, h, w * 3, new BoxF(100, 4, 32, 32), input);

        for (var x = 0; x < 32; x++)
        {
            Assert.Equal((100 + x) * 2f / 255f - 1f, Pixel(input, 32, x, 10)[0], 4);
        }
    }

    private static float[] Pixel(float[] input, int size, int x, int y) => input.AsSpan((y * size + x) * 3, 3).ToArray();
}
