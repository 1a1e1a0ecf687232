namespace CivicLens.Rules.Scene;

/// <summary>
/// The grey picture of one zone at one moment, cell by cell (see <see cref="ZoneSnapshotComparer"/>): what a
/// reported problem looked like. <see cref="Region"/> marks the cells that show the problem; <see cref="Clean"/>,
/// when known, is what the zone looked like without it (the scene-change rule's learned background).
/// Immutable once made; keep it with the incident and compare later frames against it.
/// </summary>
public sealed class ZonePatch
{
    /// <summary>"CLZP": a file that does not start with it is not a patch.</summary>
    private const int Magic = 0x505A4C43;

    private const int Version = 1;

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

    /// <summary>Writes the patch (a few kilobytes: one grey level per cell, no pixels).</summary>
    public void Write(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(Cols);
        writer.Write(Rows);
        writer.Write(StreamTime.Ticks);
        writer.Write(_clean is not null);
        foreach (var v in _grey) writer.Write(v);
        if (_clean is not null)
        {
            foreach (var v in _clean) writer.Write(v);
        }

        for (var i = 0; i < _region.Length; i++) writer.Write((byte)((_region[i] ? 1 : 0) | (_visible[i] ? 2 : 0)));
    }

    /// <summary>Reads a patch written by <see cref="Write"/>; <see cref="InvalidDataException"/> when it is not one.</summary>
    public static ZonePatch Read(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        try
        {
            if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version) throw new InvalidDataException("Not a zone patch of a known version.");
            var cols = reader.ReadInt32();
            var rows = reader.ReadInt32();
            if (cols is < 1 or > 4096 || rows is < 1 or > 4096) throw new InvalidDataException("A zone patch's size is out of range.");
            var streamTime = TimeSpan.FromTicks(reader.ReadInt64());
            var hasClean = reader.ReadBoolean();
            var n = cols * rows;
            var grey = new float[n];
            for (var i = 0; i < n; i++) grey[i] = reader.ReadSingle();
            float[]? clean = null;
            if (hasClean)
            {
                clean = new float[n];
                for (var i = 0; i < n; i++) clean[i] = reader.ReadSingle();
            }

            var region = new bool[n];
            var visible = new bool[n];
            for (var i = 0; i < n; i++)
            {
                var b = reader.ReadByte();
                region[i] = (b & 1) != 0;
                visible[i] = (b & 2) != 0;
            }

            return new ZonePatch(cols, rows, grey, clean, region, visible, streamTime);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The zone patch is cut short.", ex);
        }
    }
}
