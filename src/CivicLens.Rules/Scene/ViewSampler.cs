using CivicLens.Domain.Frames;

namespace CivicLens.Rules.Scene;

/// <summary>
/// A whole-view summary for tamper checks, measured without allocating: a grey thumbnail about 96 cells across
/// (block means), its edge map, its contrast, and how sharp the full-resolution picture is. Sharpness is the
/// ratio of fine gradient energy (neighbouring pixels, read on a sparse lattice) to coarse gradient energy
/// (neighbouring thumbnail cells): defocus and blur kill the first and barely touch the second, while lighting
/// scales both alike.
/// </summary>
internal sealed class ViewSampler
{
    private const float CellsAcross = 96f;

    private int _frameWidth;
    private int _frameHeight;
    private int _cell;
    private int _sampleStep;
    private int _fineStepX;
    private int _fineStepY;

    public int Width { get; private set; }

    public int Height { get; private set; }

    /// <summary>Mean grey per thumbnail cell, row by row.</summary>
    public float[] Thumb { get; private set; } = [];

    /// <summary>Gradient magnitude (|dx| + |dy|) of <see cref="Thumb"/>; zero on the last row and column.</summary>
    public float[] Edges { get; private set; } = [];

    public float Mean { get; private set; }

    /// <summary>Standard deviation of the thumbnail's grey levels: near zero for a covered or blacked-out lens.</summary>
    public float Std { get; private set; }

    /// <summary>Mean squared gradient between neighbouring thumbnail cells.</summary>
    public float CoarseEnergy { get; private set; }

    /// <summary>Mean squared gradient between neighbouring pixels at full resolution.</summary>
    public float FineEnergy { get; private set; }

    /// <summary>Fine over coarse gradient energy; falls when the picture goes soft.</summary>
    public float Sharpness => CoarseEnergy > 1e-3f ? FineEnergy / CoarseEnergy : 0f;

    /// <summary>Measures a frame; true when its size differs from the previous one (buffers were rebuilt).</summary>
    public bool Measure(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var resized = frame.Width != _frameWidth || frame.Height != _frameHeight;
        if (resized) Build(frame.Width, frame.Height);
        MeasureThumb(frame);
        MeasureFine(frame);
        return resized;
    }

    /// <summary>Fills <paramref name="edges"/> with the gradient magnitude of <paramref name="grey"/> (thumbnail-sized).</summary>
    public void EdgesOf(float[] grey, float[] edges)
    {
        ArgumentNullException.ThrowIfNull(grey);
        ArgumentNullException.ThrowIfNull(edges);
        var w = Width;
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                if (x == w - 1 || y == Height - 1)
                {
                    edges[i] = 0;
                    continue;
                }

                edges[i] = MathF.Abs(grey[i + 1] - grey[i]) + MathF.Abs(grey[i + w] - grey[i]);
            }
        }
    }

    /// <summary>
    /// Normalised cross-correlation of two edge maps with <paramref name="b"/> shifted by (dx, dy) thumbnail cells,
    /// over their overlap (the outer cell ring left out); 0 when the overlap is flat.
    /// </summary>
    public float Correlate(float[] a, float[] b, int dx, int dy)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var w = Width;
        int x0 = Math.Max(1, 1 - dx), x1 = Math.Min(w - 2, w - 2 - dx);
        int y0 = Math.Max(1, 1 - dy), y1 = Math.Min(Height - 2, Height - 2 - dy);
        if (x1 - x0 < 4 || y1 - y0 < 4) return 0f;
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        var n = 0;
        for (var y = y0; y <= y1; y++)
        {
            var ra = y * w;
            var rb = (y + dy) * w + dx;
            for (var x = x0; x <= x1; x++)
            {
                double va = a[ra + x];
                double vb = b[rb + x];
                sa += va;
                sb += vb;
                saa += va * va;
                sbb += vb * vb;
                sab += va * vb;
                n++;
            }
        }

        var cov = sab - sa * sb / n;
        var varA = saa - sa * sa / n;
        var varB = sbb - sb * sb / n;
        return varA <= 1e-6 || varB <= 1e-6 ? 0f : (float)(cov / Math.Sqrt(varA * varB));
    }

    /// <summary>
    /// The shift (in thumbnail cells, up to <paramref name="range"/> each way) at which <paramref name="current"/> best
    /// matches <paramref name="reference"/>: a coarse pass every second cell, then the neighbours of the best.
    /// </summary>
    public (int Dx, int Dy, float Score) BestShift(float[] current, float[] reference, int range)
    {
        int bx = 0, by = 0;
        var best = Correlate(reference, current, 0, 0);
        for (var dy = -range; dy <= range; dy += 2)
        {
            for (var dx = -range; dx <= range; dx += 2)
            {
                var s = Correlate(reference, current, dx, dy);
                if (s > best) (bx, by, best) = (dx, dy, s);
            }
        }

        int cx = bx, cy = by;
        for (var dy = cy - 1; dy <= cy + 1; dy++)
        {
            for (var dx = cx - 1; dx <= cx + 1; dx++)
            {
                var s = Correlate(reference, current, dx, dy);
                if (s > best) (bx, by, best) = (dx, dy, s);
            }
        }

        return (bx, by, best);
    }

    /// <summary>Frame pixels per thumbnail cell (to turn a shift into pixels).</summary>
    public int CellPixels => _cell;

    private void Build(int width, int height)
    {
        _frameWidth = width;
        _frameHeight = height;
        _cell = Math.Max(1, (int)MathF.Round(width / CellsAcross));
        Width = Math.Max(1, width / _cell);
        Height = Math.Max(1, height / _cell);
        _sampleStep = Math.Max(1, _cell / 2);
        _fineStepX = Math.Max(1, width / 384);
        _fineStepY = Math.Max(2, height / 144);
        Thumb = new float[Width * Height];
        Edges = new float[Width * Height];
    }

    private void MeasureThumb(Frame frame)
    {
        var pixels = frame.Pixels;
        var stride = frame.Stride;
        double total = 0, totalSq = 0;
        for (var ty = 0; ty < Height; ty++)
        {
            for (var tx = 0; tx < Width; tx++)
            {
                var sum = 0;
                var n = 0;
                for (var y = ty * _cell; y < (ty + 1) * _cell; y += _sampleStep)
                {
                    var row = y * stride;
                    for (var x = tx * _cell; x < (tx + 1) * _cell; x += _sampleStep)
                    {
                        var p = row + x * 3;
                        sum += (pixels[p] * 77 + pixels[p + 1] * 150 + pixels[p + 2] * 29) >> 8; // BT.601 luma in integers
                        n++;
                    }
                }

                var v = (float)sum / n;
                Thumb[ty * Width + tx] = v;
                total += v;
                totalSq += v * v;
            }
        }

        var count = Width * Height;
        Mean = (float)(total / count);
        Std = (float)Math.Sqrt(Math.Max(0, totalSq / count - (total / count) * (total / count)));
        EdgesOf(Thumb, Edges);
        double energy = 0;
        var cells = 0;
        for (var y = 0; y < Height - 1; y++)
        {
            for (var x = 0; x < Width - 1; x++)
            {
                var i = y * Width + x;
                var gx = Thumb[i + 1] - Thumb[i];
                var gy = Thumb[i + Width] - Thumb[i];
                energy += gx * gx + gy * gy;
                cells++;
            }
        }

        CoarseEnergy = cells == 0 ? 0f : (float)(energy / cells);
    }

    private void MeasureFine(Frame frame)
    {
        var pixels = frame.Pixels;
        var stride = frame.Stride;
        long energy = 0;
        long n = 0;
        for (var y = 1; y < _frameHeight - 1; y += _fineStepY)
        {
            var row = y * stride;
            for (var x = 0; x < _frameWidth - 1; x += _fineStepX)
            {
                var p = row + x * 3;
                var q = p + stride;
                var g0 = (pixels[p] * 77 + pixels[p + 1] * 150 + pixels[p + 2] * 29) >> 8;
                var gx = ((pixels[p + 3] * 77 + pixels[p + 4] * 150 + pixels[p + 5] * 29) >> 8) - g0;
                var gy = ((pixels[q] * 77 + pixels[q + 1] * 150 + pixels[q + 2] * 29) >> 8) - g0;
                energy += gx * gx + gy * gy;
                n++;
            }
        }

        FineEnergy = n == 0 ? 0f : (float)energy / n;
    }
}
