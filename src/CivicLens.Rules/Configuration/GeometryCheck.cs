using CivicLens.Domain.Geometry;

namespace CivicLens.Rules.Configuration;

/// <summary>
/// One thing wrong with a zone or a line: the field it concerns, what is wrong, and (when one point is to blame)
/// that point's index in the polygon, so an editor can show the message beside it. <paramref name="OutsideFrame"/>:
/// the shape is sound but reaches past the frame (a loaded configuration still defines it; the editor refuses it).
/// </summary>
public sealed record GeometryProblem(string Field, string Message, int? Point = null, bool OutsideFrame = false);

/// <summary>
/// The geometry rules every zone and line must meet, shared by the YAML loader and the console's editor API so a
/// drawn zone is judged exactly as a written one.
/// </summary>
public static class GeometryCheck
{
    /// <summary>The first problem of a zone polygon in a <paramref name="width"/> x <paramref name="height"/> frame (0: size unknown), or null.</summary>
    public static GeometryProblem? Zone(IReadOnlyList<PointF> points, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 3) return new GeometryProblem("polygon", "needs at least 3 points");
        if (FirstCrossing(points) is { } edge)
        {
            return new GeometryProblem("polygon", "edges cross each other: list the points in order around the zone", edge);
        }

        if (Area(points) < 1f) return new GeometryProblem("polygon", "has no area");
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (width > 0 && Outside(p, width, height)) return new GeometryProblem("polygon", $"point [{p.X}, {p.Y}] is outside the {width}x{height} frame", i, OutsideFrame: true);
        }

        return null;
    }

    /// <summary>The problems of a counting line (end points 0 and 1, the in point 2), or none.</summary>
    public static List<GeometryProblem> Line(PointF from, PointF to, PointF inPoint, int width, int height)
    {
        var problems = new List<GeometryProblem>();
        var dx = to.X - from.X;
        var dy = to.Y - from.Y;
        if (dx * dx + dy * dy < 4)
        {
            problems.Add(new GeometryProblem("to", "a line needs two distinct end points", 1));
            return problems;
        }

        var side = dx * (inPoint.Y - from.Y) - dy * (inPoint.X - from.X);
        if (MathF.Abs(side) < 1e-3f)
        {
            problems.Add(new GeometryProblem("in_point", "lies on the line: put it on the side that counts as 'in'", 2));
            return problems;
        }

        foreach (var (p, key, index) in new[] { (from, "from", 0), (to, "to", 1) })
        {
            if (width > 0 && Outside(p, width, height)) problems.Add(new GeometryProblem(key, $"[{p.X}, {p.Y}] is outside the {width}x{height} frame", index, OutsideFrame: true));
        }

        return problems;
    }

    private static bool Outside(PointF p, int width, int height) => p.X < 0 || p.Y < 0 || p.X > width || p.Y > height || !float.IsFinite(p.X) || !float.IsFinite(p.Y);

    /// <summary>
    /// The end point of the first edge that crosses another, or null: dragging that point is what usually untangles it.
    /// </summary>
    private static int? FirstCrossing(IReadOnlyList<PointF> points) =>
        new Polygon(points).FirstCrossingEdge() is { } edge ? (edge + 1) % points.Count : null;

    /// <summary>Shoelace area in square pixels.</summary>
    public static float Area(IReadOnlyList<PointF> p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var a = 0f;
        for (int i = 0, j = p.Count - 1; i < p.Count; j = i++) a += (p[j].X + p[i].X) * (p[j].Y - p[i].Y);
        return MathF.Abs(a / 2);
    }
}
