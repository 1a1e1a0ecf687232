using CivicLens.Domain.Geometry;
using CivicLens.Inference.Faces;

namespace CivicLens.Inference.Tests.Faces;

public sealed class FaceDecoderTests
{
    [Fact]
    public void Centres_Back256_FollowMediaPipeGrid()
    {
        var fine = BlazeFaceAnchors.Centres(0, 256);
        var coarse = BlazeFaceAnchors.Centres(1, 256);

        Assert.Equal(512 * 2, fine.Length);
        Assert.Equal(384 * 2, coarse.Length);
        // Two anchors per 16-px cell, row-major: anchors 0 and 1 share cell (0,0); anchor 2 is cell (1,0).
        Assert.Equal([8f, 8f, 8f, 8f, 24f, 8f], fine[..6]);
        Assert.Equal([248f, 248f], fine[^2..]);
        // Six anchors per 32-px cell.
        Assert.Equal([16f, 16f], coarse[..2]);
        Assert.Equal([48f, 16f], coarse[12..14]);
        Assert.Equal([240f, 240f], coarse[^2..]);
    }

    [Fact]
    public void Decode_OverlappingCandidates_BlendedByScoreIntoOneFace()
    {
        var decoder = new FaceDecoder(256, scoreThreshold: 0.5f, iouThreshold: 0.3f);
        var (scores, boxes) = EmptyOutputs();
        // Both anchors of cell (2,3) on the fine grid (centre 40,56) see a 20x20 face, shifted 2 px apart.
        var a = (3 * 16 + 2) * 2;
        Set(scores, boxes, 0, a, logit: 3f, dx: 0, dy: 0, w: 20, h: 20);
        Set(scores, boxes, 0, a + 1, logit: 1f, dx: 2, dy: 0, w: 20, h: 20);
        // A separate face on the coarse grid, cell (6,6) anchor 0 (centre 208,208).
        Set(scores, boxes, 1, (6 * 8 + 6) * 6, logit: 2f, dx: 0, dy: 0, w: 40, h: 40);
        // Below threshold: ignored.
        Set(scores, boxes, 0, 0, logit: -1f, dx: 0, dy: 0, w: 20, h: 20);

        var faces = decoder.Decode(scores, boxes).ToArray();

        Assert.Equal(2, faces.Length);
        var s3 = Sigmoid(3f);
        var s1 = Sigmoid(1f);
        Assert.Equal(s3, faces[0].Score, 5);
        var x1 = (30f * s3 + 32f * s1) / (s3 + s1);
        Assert.Equal(x1, faces[0].X1, 3);
        Assert.Equal(x1 + 20f, faces[0].X2, 3);
        Assert.Equal(46f, faces[0].Y1, 3);
        Assert.Equal(Sigmoid(2f), faces[1].Score, 5);
        Assert.Equal(new BoxF(188, 188, 40, 40), BoxF.FromCorners(faces[1].X1, faces[1].Y1, faces[1].X2, faces[1].Y2));
    }

    [Fact]
    public void Decode_SecondCallWithNothingAboveThreshold_ReturnsNothing()
    {
        var decoder = new FaceDecoder(256, 0.5f, 0.3f);
        var (scores, boxes) = EmptyOutputs();
        Set(scores, boxes, 0, 10, logit: 3f, dx: 0, dy: 0, w: 20, h: 20);
        Assert.Equal(1, decoder.Decode(scores, boxes).Length);

        scores[0][10] = -3f;

        Assert.Equal(0, decoder.Decode(scores, boxes).Length);
    }

    private static (float[][] Scores, float[][] Boxes) EmptyOutputs()
    {
        var scores = new[] { new float[512], new float[384] };
        foreach (var s in scores) s.AsSpan().Fill(-10f);
        return (scores, [new float[512 * 16], new float[384 * 16]]);
    }

    private static void Set(float[][] scores, float[][] boxes, int head, int anchor, float logit, float dx, float dy, float w, float h)
    {
        scores[head][anchor] = logit;
        var o = anchor * 16;
        boxes[head][o] = dx;
        boxes[head][o + 1] = dy;
        boxes[head][o + 2] = w;
        boxes[head][o + 3] = h;
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
