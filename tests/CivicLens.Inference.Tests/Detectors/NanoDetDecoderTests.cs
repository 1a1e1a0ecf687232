using CivicLens.Domain.Geometry;
using CivicLens.Inference.Detectors;

namespace CivicLens.Inference.Tests.Detectors;

public class NanoDetDecoderTests
{
    // One level, stride 8 on a 4x4 grid (32x32 input), 3 classes, 11 bins per side.
    private const int Classes = 3, Bins = 11, Grid = 4, Stride = 8;

    private static (float[][] Outputs, int[] Widths) Outputs()
    {
        var cls = new float[Grid * Grid * Classes];
        var box = new float[Grid * Grid * 4 * Bins];
        Array.Fill(box, -10f);
        return ([cls, box], [cls.Length, box.Length]);
    }

    private static void Peak(float[] box, int cell, int side, int bin) => box[cell * 4 * Bins + side * Bins + bin] = 10f;

    [Fact]
    public void Decode_PeakedDistribution_GivesBoxAroundCellCentre()
    {
        var (outs, widths) = Outputs();
        var cell = 1 * Grid + 2; // row 1, column 2: centre (20, 12)
        outs[0][cell * Classes + 1] = 0.9f;
        Peak(outs[1], cell, 0, 1); // left 1 bin = 8 px
        Peak(outs[1], cell, 1, 1); // top 8 px
        Peak(outs[1], cell, 2, 2); // right 16 px
        Peak(outs[1], cell, 3, 3); // bottom 24 px
        var decoder = new NanoDetDecoder([new NanoDetDecoder.Level(Stride, Grid, Grid, 0, 1)], Classes, Bins, [0.5f, 0.5f, 0.5f]);
        var candidates = new Nms.Candidate[16];

        var n = decoder.Decode(outs, widths, 0, scaleX: 2f, scaleY: 1f, candidates);

        Assert.Equal(1, n);
        Assert.Equal(1, candidates[0].ClassId);
        Assert.Equal(0.9f, candidates[0].Score);
        var b = candidates[0].Box;
        Assert.Equal((20 - 8) * 2f, b.X, 0.05f);
        Assert.Equal(12 - 8, b.Y, 0.05f);
        Assert.Equal((20 + 16) * 2f, b.Right, 0.05f);
        Assert.Equal(12 + 24, b.Bottom, 0.05f);
    }

    [Fact]
    public void Decode_PerClassThreshold_FiltersClassesBelowTheirMinimum()
    {
        var (outs, widths) = Outputs();
        outs[0][0 * Classes + 0] = 0.6f; // class 0 at 0.6, but class 0 needs 0.7
        outs[0][1 * Classes + 2] = 0.4f; // class 2 at 0.4 needs 0.3
        var decoder = new NanoDetDecoder([new NanoDetDecoder.Level(Stride, Grid, Grid, 0, 1)], Classes, Bins, [0.7f, float.PositiveInfinity, 0.3f]);
        var candidates = new Nms.Candidate[16];

        var n = decoder.Decode(outs, widths, 0, 1f, 1f, candidates);

        Assert.Equal(1, n);
        Assert.Equal(2, candidates[0].ClassId);
    }

    [Fact]
    public void Decode_SecondImageOfBatch_ReadsItsOwnSlice()
    {
        var cls = new float[2 * Grid * Grid * Classes];
        var box = new float[2 * Grid * Grid * 4 * Bins];
        cls[Grid * Grid * Classes + 5 * Classes] = 0.8f; // image 1, cell 5, class 0
        var decoder = new NanoDetDecoder([new NanoDetDecoder.Level(Stride, Grid, Grid, 0, 1)], Classes, Bins, [0.5f, 0.5f, 0.5f]);
        var candidates = new Nms.Candidate[16];

        Assert.Equal(0, decoder.Decode([cls, box], [Grid * Grid * Classes, Grid * Grid * 4 * Bins], 0, 1, 1, candidates));
        Assert.Equal(1, decoder.Decode([cls, box], [Grid * Grid * Classes, Grid * Grid * 4 * Bins], 1, 1, 1, candidates));
    }
}

public class NmsTests
{
    [Fact]
    public void Apply_OverlappingSameClass_KeepsHighestOnly()
    {
        Nms.Candidate[] c =
        [
            new() { Box = new BoxF(0, 0, 10, 10), ClassId = 0, Score = 0.5f },
            new() { Box = new BoxF(1, 1, 10, 10), ClassId = 0, Score = 0.9f },
            new() { Box = new BoxF(3, 1, 10, 10), ClassId = 1, Score = 0.4f }, // other class, IoU 0.67 with the best: kept
            new() { Box = new BoxF(50, 50, 10, 10), ClassId = 0, Score = 0.3f }, // far away: kept
        ];

        var kept = Nms.Apply(c, 0.5f, 100);

        Assert.Equal(3, kept);
        Assert.Equal(0.9f, c[0].Score);
        Assert.False(c[0].Suppressed);
        Assert.Contains(c.ToArray(), x => x.Score == 0.5f && x.Suppressed);
        Assert.Contains(c.ToArray(), x => x.ClassId == 1 && !x.Suppressed);
    }

    [Fact]
    public void Apply_NearlyIdenticalBoxesOfTwoClasses_KeepsOne()
    {
        Nms.Candidate[] c =
        [
            new() { Box = new BoxF(0, 0, 40, 30), ClassId = 7, Score = 0.45f }, // "truck"
            new() { Box = new BoxF(1, 0, 40, 30), ClassId = 2, Score = 0.40f }, // "car" on the same van
        ];

        Assert.Equal(1, Nms.Apply(c, 0.6f, 100));
        Assert.Equal(7, c.ToArray().Single(x => !x.Suppressed).ClassId);
    }

    [Fact]
    public void Apply_MaxKeep_SuppressesTheRest()
    {
        var c = Enumerable.Range(0, 10).Select(i => new Nms.Candidate { Box = new BoxF(i * 20, 0, 10, 10), Score = i / 10f }).ToArray();
        Assert.Equal(3, Nms.Apply(c, 0.5f, 3));
        Assert.Equal(3, c.Count(x => !x.Suppressed));
        Assert.All(c.Where(x => !x.Suppressed), x => Assert.True(x.Score >= 0.7f));
    }
}
