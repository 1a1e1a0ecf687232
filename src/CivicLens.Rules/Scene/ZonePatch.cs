namespace CivicLens.Rules.Scene;

/// <summary>
/// The grey picture of one zone at one moment, cell by cell (see <see cref="ZoneSnapshotComparer"/>): what a
/// reported problem looked like. <see cref="Region"/> marks the cells that show the problem; <see cref="Clean"/>,
/// when known, is what those cells looked like without it (the scene-change rule's learned background).
/// Immutable once made; keep it with the incident and compare later frames against it.
/// </summary>
public sealed class ZonePatch
{
    private readonly float[] _grey;
    private readonly float[]? _clean;
    private readonly bool[] _region;
    private readonly bool[] _visible;

    internal ZonePatch(int cols, int rows, float[] grey, float[]? clean, bool[] region, bool[] visible, TimeSpan streamTime)
    {
        Cols = cols;
        Rows = rows;
        _grey = grey;
        _clean = clean;
        _region = region;
        _visible = visible;
        StreamTime = streamTime;
        foreach (var r in region)
        {
            if (r) RegionCells++;
        }
    }

    public int Cols { get; }

    public int Rows { get; }

    /// <summary>When it was captured (stream time).</summary>
    public TimeSpan StreamTime { get; }

    /// <summary>How many cells show the problem.</summary>
    public int RegionCells { get; }

    /// <summary>True when the clean background of the region is known (captured by the scene-change rule).</summary>
    public bool HasClean => _clean is not null;

    internal ReadOnlySpan<float> Grey => _grey;

    internal ReadOnlySpan<float> Clean => _clean;

    internal ReadOnlySpan<bool> Region => _region;

    internal ReadOnlySpan<bool> Visible => _visible;
}
