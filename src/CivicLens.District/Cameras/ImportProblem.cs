namespace CivicLens.District.Cameras;

/// <summary>What <see cref="ImportProblem.Row"/> counts.</summary>
public enum ImportLocation
{
    /// <summary>A CSV record: the 1-based line it starts on, the header being row 1.</summary>
    Row,

    /// <summary>A GeoJSON feature: the 0-based index in <c>features</c>.</summary>
    Feature,

    /// <summary>The file as a whole (not JSON, not a FeatureCollection); <see cref="ImportProblem.Row"/> is -1.</summary>
    Document,
}

/// <summary>
/// One thing wrong with an import file. <see cref="Field"/> is the column or property as the file writes it
/// (<c>geometry.coordinates</c> for a feature's position; empty when the whole row is wrong). <see cref="Message"/>
/// is plain English that names the field, and never repeats a source, which may carry credentials.
/// </summary>
public sealed record ImportProblem(int Row, string Field, string Message)
{
    public ImportLocation Location { get; init; } = ImportLocation.Row;

    /// <summary>"row 5: heading 400 is out of range (0 to 360 degrees)", or "features[4]: ..." for GeoJSON.</summary>
    public override string ToString() => Location switch
    {
        ImportLocation.Row => $"row {Row}: {Message}",
        ImportLocation.Feature => $"features[{Row}]: {Message}",
        _ => Message,
    };
}

/// <summary>
/// A whole file read: the cameras without a problem, and every problem found. An importer stores nothing unless
/// <see cref="IsClean"/>, so a file is never half-imported.
/// </summary>
public sealed record CameraImport(IReadOnlyList<CameraRow> Rows, IReadOnlyList<ImportProblem> Problems)
{
    public bool IsClean => Problems.Count == 0;
}
