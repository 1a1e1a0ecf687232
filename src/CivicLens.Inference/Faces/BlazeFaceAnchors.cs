namespace CivicLens.Inference.Faces;

/// <summary>
/// Anchor centres of BlazeFace's two SSD heads, following MediaPipe's anchor settings for the model
/// (4 layers, strides 16/32/32/32 on the 256 back model, 8/16/16/16 on the 128 front model, anchor
/// offset 0.5, fixed anchor size). Layers with equal strides share one grid, so both models end up
/// with a 16x16 grid of 2 anchors and an 8x8 grid of 6 anchors; only the pixel scale differs.
/// Anchors are ordered row, column, anchor, as the model's outputs are.
/// </summary>
internal static class BlazeFaceAnchors
{
    /// <summary>(grid cells per side, anchors per cell) of each head, in output order.</summary>
    public static readonly (int Grid, int PerCell)[] Heads = [(16, 2), (8, 6)];

    public const int BoxValues = 16;

    public static int Count(int head) => Heads[head].Grid * Heads[head].Grid * Heads[head].PerCell;

    /// <summary>Interleaved (x, y) anchor centres of one head in input pixels.</summary>
    public static float[] Centres(int head, int inputSize)
    {
        var (grid, perCell) = Heads[head];
        var centres = new float[grid * grid * perCell * 2];
        var cell = (float)inputSize / grid;
        var i = 0;
        for (var y = 0; y < grid; y++)
        {
            for (var x = 0; x < grid; x++)
            {
                for (var a = 0; a < perCell; a++)
                {
                    centres[i++] = (x + 0.5f) * cell;
                    centres[i++] = (y + 0.5f) * cell;
                }
            }
        }

        return centres;
    }
}
