namespace CivicLens.Domain.Geometry;

/// <summary>A simple polygon in source-frame pixels (zones, privacy masks).</summary>
public sealed class Polygon
{
    public Polygon(IReadOnlyList<PointF> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 3) throw new ArgumentException("A polygon needs at least three points.", nameof(points));
        Points = points.ToArray();
        var minX = Points.Min(p => p.X);
        var minY = Points.Min(p => p.Y);
        Bounds = BoxF.FromCorners(minX, minY, Points.Max(p => p.X), Points.Max(p => p.Y));
    }

    public IReadOnlyList<PointF> Points { get; }

    public BoxF Bounds { get; }

    /// <summary>Even-odd rule point test.</summary>
    public bool Contains(float x, float y)
    {
        var inside = false;
        var pts = Points;
        for (int i = 0, j = pts.Count - 1; i < pts.Count; j = i++)
        {
            var a = pts[i];
            var b = pts[j];
            if ((a.Y > y) != (b.Y > y) && x < (b.X - a.X) * (y - a.Y) / (b.Y - a.Y) + a.X)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    /// <summary>Distance in pixels from a point to the nearest edge (inside or outside).</summary>
    public float DistanceToEdge(float x, float y)
    {
        var best = float.MaxValue;
        var pts = Points;
        for (int i = 0, j = pts.Count - 1; i < pts.Count; j = i++)
        {
            var a = pts[j];
            var b = pts[i];
            var dx = b.X - a.X;
            var dy = b.Y - a.Y;
            var len2 = dx * dx + dy * dy;
            var t = len2 > 0 ? Math.Clamp(((x - a.X) * dx + (y - a.Y) * dy) / len2, 0f, 1f) : 0f;
            var ex = a.X + t * dx - x;
            var ey = a.Y + t * dy - y;
            best = MathF.Min(best, ex * ex + ey * ey);
        }

        return MathF.Sqrt(best);
    }

    /// <summary>
    /// The index of the first edge (from point i to i+1) that crosses a non-adjacent edge, or null when none does
    /// (a self-crossing polygon is rejected by configuration and by the zone editor).
    /// </summary>
    public int? FirstCrossingEdge()
    {
        var n = Points.Count;
        for (var i = 0; i < n; i++)
        {
            var a1 = Points[i];
            var a2 = Points[(i + 1) % n];
            for (var j = i + 1; j < n; j++)
            {
                if (j == i || (j + 1) % n == i || (i + 1) % n == j) continue;
                if (SegmentsCross(a1, a2, Points[j], Points[(j + 1) % n])) return i;
            }
        }

        return null;
    }

    /// <summary>Whether two segments cross properly (touching ends and collinear overlaps do not count).</summary>
    private static bool SegmentsCross(PointF p1, PointF p2, PointF q1, PointF q2)
    {
        static float Cross(PointF o, PointF a, PointF b) => (a.X - o.X) * (b.Y - o.Y) - (a.Y - o.Y) * (b.X - o.X);
        var d1 = Cross(q1, q2, p1);
        var d2 = Cross(q1, q2, p2);
        var d3 = Cross(p1, p2, q1);
        var d4 = Cross(p1, p2, q2);
        return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
    }
}
