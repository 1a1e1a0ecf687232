namespace CivicLens.Pipeline.Stills;

/// <summary>
/// Overlapping square tiles over a large still, so that detectors with small inputs (416 px for NanoDet, 256 px for
/// BlazeFace) also see the small people, faces and vehicles that a whole-image pass shrinks below what they find.
/// </summary>
internal static class TileGrid
{
    /// <summary>
    /// Tiles of side <paramref name="tile"/> (clipped to the image), a quarter overlapping their neighbours, evenly
    /// spread from edge to edge. When more than <paramref name="maxTiles"/> would be needed the tiles grow instead.
    /// Empty when the image is not much larger than one tile (the whole-image pass is enough then).
    /// </summary>
    public static List<(int X, int Y, int Width, int Height)> Cover(int width, int height, int tile, int maxTiles)
    {
        var tiles = new List<(int, int, int, int)>();
        if (tile <= 0 || Math.Max(width, height) <= tile * 5 / 4) return tiles;
        int nx, ny;
        while (true)
        {
            nx = Count(width, tile);
            ny = Count(height, tile);
            if ((long)nx * ny <= maxTiles) break;
            tile = tile * 5 / 4;
        }

        var tw = Math.Min(tile, width);
        var th = Math.Min(tile, height);
        for (var j = 0; j < ny; j++)
        {
            var y = ny == 1 ? 0 : (int)((long)j * (height - th) / (ny - 1));
            for (var i = 0; i < nx; i++)
            {
                var x = nx == 1 ? 0 : (int)((long)i * (width - tw) / (nx - 1));
                tiles.Add((x, y, tw, th));
            }
        }

        return tiles;
    }

    // Tiles along one side with a step of three quarters of a tile.
    private static int Count(int side, int tile) => side <= tile ? 1 : 1 + (side - tile + tile * 3 / 4 - 1) / (tile * 3 / 4);
}
