using CivicLens.Domain.Geometry;

namespace CivicLens.Inference.Faces;

/// <summary>
/// Letterboxes one region of an RGB24 frame into BlazeFace's square NHWC input (-1..1) with bilinear
/// sampling. Keeping the aspect ratio matters: faces stretched by a person box's 1:3 shape are missed.
/// The per-axis sampling tables are rebuilt on every call (the region changes) into preallocated arrays.
/// </summary>
internal sealed class FaceInputSampler
{
    // Letterbox padding is black, as MediaPipe pads before converting to -1..1.
    private const float Pad = -1f;
    private const float Scale = 2f / 255f;

    private readonly int _size;
    private readonly int[] _x0;
    private readonly int[] _x1;
    private readonly float[] _xw;
    private readonly int[] _y0;
    private readonly int[] _y1;
    private readonly float[] _yw;

    public FaceInputSampler(int size)
    {
        _size = size;
        _x0 = new int[size];
        _x1 = new int[size];
        _xw = new float[size];
        _y0 = new int[size];
        _y1 = new int[size];
        _yw = new float[size];
    }

    /// <summary>Input pixels per region pixel, and where the region's top-left lands in the input.</summary>
    public readonly record struct Letterbox(float Scale, float OffsetX, float OffsetY);

    /// <summary>Fills <paramref name="dst"/> (size x size x 3) from <paramref name="region"/>, which lies inside the frame.</summary>
    public Letterbox Fill(ReadOnlySpan<byte> rgb, int width, int height, int stride, in BoxF region, Span<float> dst)
    {
        var scale = _size / MathF.Max(region.Width, region.Height);
        var ox = (_size - region.Width * scale) * 0.5f;
        var oy = (_size - region.Height * scale) * 0.5f;
        Axis(region.X, region.Width, width, scale, ox, _x0, _x1, _xw, bytesPerStep: 3);
        Axis(region.Y, region.Height, height, scale, oy, _y0, _y1, _yw, bytesPerStep: stride);

        var rowLength = _size * 3;
        for (var y = 0; y < _size; y++)
        {
            var row = dst.Slice(y * rowLength, rowLength);
            if (_y0[y] < 0)
            {
                row.Fill(Pad);
                continue;
            }

            var top = rgb[_y0[y]..];
            var bottom = rgb[_y1[y]..];
            var wy = _yw[y];
            for (var x = 0; x < _size; x++)
            {
                var o = x * 3;
                var i0 = _x0[x];
                if (i0 < 0)
                {
                    row[o] = Pad;
                    row[o + 1] = Pad;
                    row[o + 2] = Pad;
                    continue;
                }

                var i1 = _x1[x];
                var wx = _xw[x];
                for (var c = 0; c < 3; c++)
                {
                    var t = top[i0 + c] + (top[i1 + c] - top[i0 + c]) * wx;
                    var b = bottom[i0 + c] + (bottom[i1 + c] - bottom[i0 + c]) * wx;
                    row[o + c] = (t + (b - t) * wy) * Scale - 1f;
                }
            }
        }

        return new Letterbox(scale, ox, oy);
    }

    // Maps each input pixel centre back to the frame; -1 marks letterbox padding. Offsets are in bytes.
    private void Axis(float start, float length, int frameLength, float scale, float offset,
        int[] index0, int[] index1, float[] weight, int bytesPerStep)
    {
        for (var i = 0; i < _size; i++)
        {
            var u = (i + 0.5f - offset) / scale;
            if (u < 0f || u >= length)
            {
                index0[i] = -1;
                continue;
            }

            var s = Math.Clamp(start + u - 0.5f, 0f, frameLength - 1);
            var p0 = (int)s;
            var p1 = Math.Min(p0 + 1, frameLength - 1);
            index0[i] = p0 * bytesPerStep;
            index1[i] = p1 * bytesPerStep;
            weight[i] = s - p0;
        }
    }
}
