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

    public FrameRedactor(RedactionPlanner planner, RedactionOptions options, IReadOnlyList<Polygon>? staticMasks = null)
    {
        _planner = planner;
        _options = options;
        _masks = staticMasks ?? [];
    }

    /// <summary>Regions hidden by the last <see cref="Redact"/> call (for tests and audit counts).</summary>
    public IReadOnlyList<BoxF> LastRegions => _regions;

    /// <summary>Blacks out the camera's static masks in place; run before detection so masked areas are never analysed.</summary>
    public void ApplyStaticMasks(Span<byte> rgb24, int width, int height)
    {
        foreach (var mask in _masks) Pixelator.FillPolygon(rgb24, width, height, mask, 0, 0, 0);
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
