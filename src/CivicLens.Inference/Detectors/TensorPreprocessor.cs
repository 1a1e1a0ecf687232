namespace CivicLens.Inference.Detectors;

/// <summary>
/// Stretches an RGB24 frame into a planar float tensor (NCHW, 0..1) with bilinear sampling.
/// The sampling tables depend only on the frame and tensor sizes, so they are built once per size.
/// </summary>
internal sealed class TensorPreprocessor
{
    private readonly int _dstWidth;
    private readonly int _dstHeight;
    private int _srcWidth;
    private int _srcHeight;
    private int[] _x0 = [];
    private float[] _fx = [];
    private int[] _y0 = [];
    private float[] _fy = [];

    public TensorPreprocessor(int dstWidth, int dstHeight)
    {
        _dstWidth = dstWidth;
        _dstHeight = dstHeight;
    }

    /// <summary>Writes one image into <paramref name="dst"/> (length 3 * dstWidth * dstHeight).</summary>
    public void Fill(ReadOnlySpan<byte> rgb, int width, int height, Span<float> dst)
    {
        if (width != _srcWidth || height != _srcHeight) BuildTables(width, height);
        var plane = _dstWidth * _dstHeight;
        var r = dst[..plane];
        var g = dst.Slice(plane, plane);
        var b = dst.Slice(2 * plane, plane);
        var stride = width * 3;
        const float inv = 1f / 255f;
        for (var y = 0; y < _dstHeight; y++)
        {
            var row0 = rgb.Slice(_y0[y] * stride, stride);
            var row1 = rgb.Slice(Math.Min(_y0[y] + 1, height - 1) * stride, stride);
            var wy = _fy[y];
            var o = y * _dstWidth;
            for (var x = 0; x < _dstWidth; x++)
            {
                var i0 = _x0[x] * 3;
                var i1 = Math.Min(_x0[x] + 1, width - 1) * 3;
                var wx = _fx[x];
                r[o + x] = Lerp2(row0[i0], row0[i1], row1[i0], row1[i1], wx, wy) * inv;
                g[o + x] = Lerp2(row0[i0 + 1], row0[i1 + 1], row1[i0 + 1], row1[i1 + 1], wx, wy) * inv;
                b[o + x] = Lerp2(row0[i0 + 2], row0[i1 + 2], row1[i0 + 2], row1[i1 + 2], wx, wy) * inv;
            }
        }
    }

    private static float Lerp2(byte a, byte b, byte c, byte d, float wx, float wy)
    {
        var top = a + (b - a) * wx;
        var bottom = c + (d - c) * wx;
        return top + (bottom - top) * wy;
    }

    private void BuildTables(int width, int height)
    {
        (_x0, _fx) = Axis(width, _dstWidth);
        (_y0, _fy) = Axis(height, _dstHeight);
        _srcWidth = width;
        _srcHeight = height;
    }

    // Half-pixel centres, as image resizers (and the reference ffmpeg/TF.js paths) sample.
    private static (int[] Index, float[] Weight) Axis(int src, int dst)
    {
        var index = new int[dst];
        var weight = new float[dst];
        var scale = (float)src / dst;
        for (var i = 0; i < dst; i++)
        {
            var s = Math.Clamp((i + 0.5f) * scale - 0.5f, 0f, src - 1);
            var i0 = (int)MathF.Floor(s);
            index[i] = i0;
            weight[i] = s - i0;
        }

        return (index, weight);
    }
}
