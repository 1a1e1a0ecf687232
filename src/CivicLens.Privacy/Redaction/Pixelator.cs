using CivicLens.Domain.Geometry;

namespace CivicLens.Privacy.Redaction;

/// <summary>
/// Hides regions of an RGB24 image in place: pixelation with coarse blocks (a face becomes at most
/// a few blocks across, which no face detector or person can recognise) or a solid fill for privacy masks.
/// </summary>
public static class Pixelator
{
    public static void Pixelate(Span<byte> rgb24, int width, int height, in BoxF region, int minBlock, int maxBlocksAcross)
    {
        var r = ToPixels(region, width, height);
        if (r.W <= 0 || r.H <= 0) return;
        var block = Math.Max(minBlock, (Math.Max(r.W, r.H) + maxBlocksAcross - 1) / maxBlocksAcross);
        var stride = width * 3;
        for (var by = r.Y; by < r.Y + r.H; by += block)
        {
            var bh = Math.Min(block, r.Y + r.H - by);
            for (var bx = r.X; bx < r.X + r.W; bx += block)
            {
                var bw = Math.Min(block, r.X + r.W - bx);
                long sr = 0, sg = 0, sb = 0;
                for (var y = by; y < by + bh; y++)
                {
                    var row = rgb24.Slice(y * stride + bx * 3, bw * 3);
                    for (var i = 0; i < row.Length; i += 3)
                    {
                        sr += row[i];
                        sg += row[i + 1];
                        sb += row[i + 2];
                    }
                }

                var n = bw * bh;
                byte ar = (byte)(sr / n), ag = (byte)(sg / n), ab = (byte)(sb / n);
                for (var y = by; y < by + bh; y++)
                {
                    var row = rgb24.Slice(y * stride + bx * 3, bw * 3);
                    for (var i = 0; i < row.Length; i += 3)
                    {
                        row[i] = ar;
                        row[i + 1] = ag;
                        row[i + 2] = ab;
                    }
                }
            }
        }
    }

    /// <summary>Fills every pixel whose centre lies inside the polygon (static privacy masks: windows, gardens).</summary>
    public static void FillPolygon(Span<byte> rgb24, int width, int height, Polygon polygon, byte r, byte g, byte b)
    {
        var bounds = ToPixels(polygon.Bounds, width, height);
        var stride = width * 3;
        for (var y = bounds.Y; y < bounds.Y + bounds.H; y++)
        {
            for (var x = bounds.X; x < bounds.X + bounds.W; x++)
            {
                if (!polygon.Contains(x + 0.5f, y + 0.5f)) continue;
                var i = y * stride + x * 3;
                rgb24[i] = r;
                rgb24[i + 1] = g;
                rgb24[i + 2] = b;
            }
        }
    }

    // Rounds outwards so a region never leaves a sliver of its edge pixels untouched.
    private static (int X, int Y, int W, int H) ToPixels(in BoxF box, int width, int height)
    {
        var x1 = Math.Clamp((int)MathF.Floor(box.X), 0, width);
        var y1 = Math.Clamp((int)MathF.Floor(box.Y), 0, height);
        var x2 = Math.Clamp((int)MathF.Ceiling(box.Right), 0, width);
        var y2 = Math.Clamp((int)MathF.Ceiling(box.Bottom), 0, height);
        return (x1, y1, x2 - x1, y2 - y1);
    }
}
