using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;

namespace CivicLens.Privacy.Redaction;

/// <summary>
/// Applies a camera's privacy: static masks (solid, before detection sees the frame) and the redaction
/// plan (faces, heads, plates) on every image that is about to be stored or served.
/// </summary>
public sealed class FrameRedactor
{
    private readonly RedactionPlanner _planner;
    private readonly RedactionOptions _options;
    private readonly IReadOnlyList<Polygon> _masks;
    private readonly List<BoxF> _regions = new(32);

    private readonly int _maskWidth;
    private readonly int _maskHeight;
    private List<Polygon>? _scaled;
    private (int Width, int Height) _scaledFor;

    /// <param name="planner">Plans the regions to hide (faces, heads, plates).</param>
    /// <param name="options">Pixelation settings.</param>
    /// <param name="staticMasks">Polygons always blacked out (windows of homes, private gardens).</param>
    /// <param name="maskSpace">The frame size the masks are drawn in; frames of another size get the masks scaled. Null: frame pixels.</param>
    public FrameRedactor(RedactionPlanner planner, RedactionOptions options, IReadOnlyList<Polygon>? staticMasks = null, (int Width, int Height)? maskSpace = null)
    {
        _planner = planner;
        _options = options;
        _masks = staticMasks ?? [];
        (_maskWidth, _maskHeight) = maskSpace ?? (0, 0);
    }

    /// <summary>Regions hidden by the last <see cref="Redact"/> call (for tests and audit counts).</summary>
    public IReadOnlyList<BoxF> LastRegions => _regions;

    /// <summary>Blacks out the camera's static masks in place; run before detection so masked areas are never analysed.</summary>
    public void ApplyStaticMasks(Span<byte> rgb24, int width, int height)
    {
        if (_masks.Count == 0) return;
        foreach (var mask in MasksFor(width, height)) Pixelator.FillPolygon(rgb24, width, height, mask, 0, 0, 0);
    }

    /// <summary>The masks in this frame size's pixels; scaled once per size change, not per frame.</summary>
    private IReadOnlyList<Polygon> MasksFor(int width, int height)
    {
        if (_maskWidth == 0 || (_maskWidth == width && _maskHeight == height)) return _masks;
        if (_scaled is null || _scaledFor != (width, height))
        {
            var sx = (float)width / _maskWidth;
            var sy = (float)height / _maskHeight;
            _scaled = _masks.Select(m => new Polygon(m.Points.Select(p => new PointF(p.X * sx, p.Y * sy)).ToList())).ToList();
            _scaledFor = (width, height);
        }

        return _scaled;
    }

    /// <summary>Redacts <paramref name="rgb24"/> in place. Any exception means the image must not be stored.</summary>
    public void Redact(Span<byte> rgb24, int width, int height, IReadOnlyList<Detection> detections)
    {
        ApplyStaticMasks(rgb24, width, height);
        _planner.Plan(rgb24, width, height, detections, _regions);
        foreach (var r in _regions)
        {
            Pixelator.Pixelate(rgb24, width, height, r, _options.MinBlockSize, _options.MaxBlocksAcross);
        }
    }
}
