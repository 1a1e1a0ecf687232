using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Domain.Tracking;

namespace CivicLens.Rules.Scene;

/// <summary>
/// A zone cut into small square cells laid out in the camera's CONFIGURED pixel space, so the same cell means the
/// same patch of the scene at any stream resolution. Each cell is read as one grey level (mean of a few pixels of
/// its rectangle in the frame). Sampling tables are rebuilt only when the frame size changes; nothing is allocated
/// per frame.
/// </summary>
internal sealed class ZoneGrid
{
    /// <summary>Cells across a full-width zone: 1/4 of a 768-pixel view (4-pixel cells), 10-pixel cells at 1080p.</summary>
    private const float CellsAcross = 192f;

    /// <summary>At most this many samples per cell side (a 4-pixel cell is read on a 2x2 lattice, a 10-pixel one on 3x3).</summary>
    private const int SamplesPerSide = 2;

    private readonly float _configuredWidth;
    private readonly float _configuredHeight;
    private int _frameWidth;
    private int _frameHeight;
    private int[] _x0 = [];
    private int[] _x1 = [];
    private int[] _y0 = [];
    private int[] _y1 = [];
    private int _stepX = 1;
    private int _stepY = 1;

    public ZoneGrid(Polygon zone, int configuredWidth, int configuredHeight)
    {
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentOutOfRangeException.ThrowIfLessThan(configuredWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(configuredHeight, 1);
        _configuredWidth = configuredWidth;
        _configuredHeight = configuredHeight;
        CellSize = MathF.Max(2f, MathF.Round(configuredWidth / CellsAcross));
        var b = zone.Bounds.ClampTo(configuredWidth, configuredHeight);
        OriginX = MathF.Floor(b.X / CellSize) * CellSize;
        OriginY = MathF.Floor(b.Y / CellSize) * CellSize;
        Cols = Math.Max(1, (int)MathF.Ceiling((b.Right - OriginX) / CellSize));
        Rows = Math.Max(1, (int)MathF.Ceiling((b.Bottom - OriginY) / CellSize));
        Inside = new bool[Cols * Rows];
        for (var r = 0; r < Rows; r++)
        {
            for (var c = 0; c < Cols; c++)
            {
                var x = OriginX + (c + 0.5f) * CellSize;
                var y = OriginY + (r + 0.5f) * CellSize;
                if (x >= configuredWidth || y >= configuredHeight || !zone.Contains(x, y)) continue;
                Inside[r * Cols + c] = true;
                InsideCount++;
            }
        }
    }

    /// <summary>Side of a cell in configured pixels.</summary>
    public float CellSize { get; }

    /// <summary>Top-left corner of cell (0, 0) in configured pixels.</summary>
    public float OriginX { get; }

    public float OriginY { get; }

    public int Cols { get; }

    public int Rows { get; }

    public int Length => Cols * Rows;

    /// <summary>Cells whose centre lies inside the zone polygon.</summary>
    public bool[] Inside { get; }

    public int InsideCount { get; }

    /// <summary>Reads the mean grey level of every cell of the zone's bounds into <paramref name="grey"/>.</summary>
    public void Sample(Frame frame, float[] grey)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(grey);
        if (frame.Width != _frameWidth || frame.Height != _frameHeight) BuildTables(frame.Width, frame.Height);
        var pixels = frame.Pixels;
        var stride = frame.Stride;
        int cols = Cols, rows = Rows, stepX = _stepX, stepY = _stepY;
        int[] xs0 = _x0, xs1 = _x1;
        for (var r = 0; r < rows; r++)
        {
            int y0 = _y0[r], y1 = _y1[r];
            for (var c = 0; c < cols; c++)
            {
                var i = r * cols + c;
                int x0 = xs0[c], x1 = xs1[c];
                var sum = 0;
                var n = 0;
                for (var y = y0; y < y1; y += stepY)
                {
                    var row = y * stride;
                    for (var x = x0; x < x1; x += stepX)
                    {
                        var p = row + x * 3;
                        sum += (pixels[p] * 77 + pixels[p + 1] * 150 + pixels[p + 2] * 29) >> 8; // BT.601 luma in integers
                        n++;
                    }
                }

                grey[i] = n == 0 ? 0f : (float)sum / n;
            }
        }
    }

    /// <summary>Marks the cells a box (configured pixels) covers, grown by <paramref name="margin"/> of its size on every side.</summary>
    public void MarkBox(in BoxF box, float margin, bool[] marked)
    {
        ArgumentNullException.ThrowIfNull(marked);
        var mx = box.Width * margin + CellSize;
        var my = box.Height * margin + CellSize;
        var c0 = Math.Max(0, (int)MathF.Floor((box.X - mx - OriginX) / CellSize));
        var c1 = Math.Min(Cols - 1, (int)MathF.Floor((box.Right + mx - OriginX) / CellSize));
        var r0 = Math.Max(0, (int)MathF.Floor((box.Y - my - OriginY) / CellSize));
        var r1 = Math.Min(Rows - 1, (int)MathF.Floor((box.Bottom + my - OriginY) / CellSize));
        for (var r = r0; r <= r1; r++)
        {
            for (var c = c0; c <= c1; c++) marked[r * Cols + c] = true;
        }
    }

    /// <summary>Marks the cells under every live track (all of them when <paramref name="classes"/> is null).</summary>
    public void MarkTracks(List<TrackedObject> tracks, bool[]? classes, float margin, bool[] marked)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        for (var i = 0; i < tracks.Count; i++)
        {
            var t = tracks[i];
            if (t.State == TrackState.Removed) continue;
            if (classes is not null && ((uint)t.ClassId >= (uint)classes.Length || !classes[t.ClassId])) continue;
            MarkBox(t.Box, margin, marked);
        }
    }

    /// <summary>The box covering cells [c0..c1] x [r0..r1], in configured pixels.</summary>
    public BoxF CellsToBox(int c0, int r0, int c1, int r1) =>
        new(OriginX + c0 * CellSize, OriginY + r0 * CellSize, (c1 - c0 + 1) * CellSize, (r1 - r0 + 1) * CellSize);

    private void BuildTables(int width, int height)
    {
        _frameWidth = width;
        _frameHeight = height;
        var scaleX = width / _configuredWidth;
        var scaleY = height / _configuredHeight;
        _x0 = new int[Cols];
        _x1 = new int[Cols];
        _y0 = new int[Rows];
        _y1 = new int[Rows];
        for (var c = 0; c < Cols; c++) Span(OriginX + c * CellSize, scaleX, width, out _x0[c], out _x1[c]);
        for (var r = 0; r < Rows; r++) Span(OriginY + r * CellSize, scaleY, height, out _y0[r], out _y1[r]);
        _stepX = Math.Max(1, (int)MathF.Round(CellSize * scaleX) / SamplesPerSide);
        _stepY = Math.Max(1, (int)MathF.Round(CellSize * scaleY) / SamplesPerSide);
    }

    private void Span(float start, float scale, int limit, out int from, out int to)
    {
        from = Math.Clamp((int)MathF.Floor(start * scale), 0, limit - 1);
        to = Math.Clamp((int)MathF.Floor((start + CellSize) * scale), from + 1, limit);
    }
}
