using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;

namespace CivicLens.Pipeline.Stills;

/// <summary>
/// The face locator the redaction planner uses on stills. A whole-image search on a large photo also searches
/// overlapping tiles (a face a few dozen pixels tall in a 12-megapixel photo vanishes in the detector's 256-px input);
/// searches of smaller regions (person crops) pass straight through. Every face it reports is kept in
/// <see cref="Found"/>, for the counts a redaction reports.
/// </summary>
internal sealed class TilingFaceLocator : IFaceLocator
{
    private readonly IFaceLocator _inner;
    private readonly int _tile;
    private readonly int _maxTiles;

    public TilingFaceLocator(IFaceLocator inner, int tile, int maxTiles)
    {
        _inner = inner;
        _tile = tile;
        _maxTiles = maxTiles;
    }

    public List<BoxF> Found { get; } = [];

    public void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces)
    {
        var before = faces.Count;
        _inner.Detect(rgb24, width, height, stride, region, faces);
        var wholeImage = region.X <= 0 && region.Y <= 0 && region.Right >= width && region.Bottom >= height;
        if (wholeImage)
        {
            foreach (var (x, y, w, h) in TileGrid.Cover(width, height, _tile, _maxTiles))
            {
                _inner.Detect(rgb24, width, height, stride, new BoxF(x, y, w, h), faces);
            }
        }

        for (var i = before; i < faces.Count; i++) Found.Add(faces[i]);
    }
}
