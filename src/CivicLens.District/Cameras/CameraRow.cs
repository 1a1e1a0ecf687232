using System.Globalization;
using System.Text;

namespace CivicLens.District.Cameras;

/// <summary>
/// One camera as a bulk import file describes it: where it stands, what it looks at, why it runs, under which law,
/// who answers for it and how long its footage is kept. A registry entry about a device: it holds nothing about the
/// people in its view. Optional values are null when the file leaves them empty.
/// </summary>
/// <param name="Id">The camera's id: a letter or digit, then up to 63 letters, digits, '_', '.' or '-'.</param>
/// <param name="Latitude">WGS 84 degrees, -90 to 90.</param>
/// <param name="Longitude">WGS 84 degrees, -180 to 180.</param>
public sealed record CameraRow(string Id, double Latitude, double Longitude)
{
    /// <summary>
    /// Where the camera was read: in a CSV file the 1-based line its record starts on (the header is row 1); in
    /// GeoJSON the 0-based index in <c>features</c>.
    /// </summary>
    public int Row { get; init; }

    public string? Name { get; init; }

    /// <summary>Compass degrees the camera faces, 0 to 360 (0 = north).</summary>
    public double? Heading { get; init; }

    /// <summary>Horizontal field of view in degrees, 1 to 360.</summary>
    public double? FieldOfView { get; init; }

    /// <summary>How far the camera usefully sees, in metres, 1 to 10,000.</summary>
    public double? Range { get; init; }

    /// <summary>
    /// The stream or file the camera serves (see <see cref="CameraRowValidator.IsVideoSource"/>). It may carry
    /// credentials, so it is never printed: <see cref="ToString"/> says only whether there is one.
    /// </summary>
    public string? Source { get; init; }

    /// <summary>Why the camera runs. Without one a camera stays disabled.</summary>
    public string? Purpose { get; init; }

    public string? LegalBasis { get; init; }

    public string? Department { get; init; }

    /// <summary>Days footage and events are kept, 1 to 3650.</summary>
    public int? RetentionDays { get; init; }

    public string? Site { get; init; }

    public string? Area { get; init; }

    /// <summary>Whether the file asks for the camera to run; null leaves it to the importer.</summary>
    public bool? Enabled { get; init; }

    /// <summary>Every value but the source, which is shown only as set or not (it may carry credentials).</summary>
    public override string ToString()
    {
        var b = new StringBuilder("CameraRow { ");
        b.Append(CultureInfo.InvariantCulture, $"Row = {Row}, Id = {Id}, Name = {Name}, Latitude = {Latitude}, Longitude = {Longitude}, ");
        b.Append(CultureInfo.InvariantCulture, $"Heading = {Heading}, FieldOfView = {FieldOfView}, Range = {Range}, ");
        b.Append("Source = ").Append(Source is null ? "(none)" : "(hidden)");
        b.Append(CultureInfo.InvariantCulture, $", Purpose = {Purpose}, LegalBasis = {LegalBasis}, Department = {Department}, ");
        b.Append(CultureInfo.InvariantCulture, $"RetentionDays = {RetentionDays}, Site = {Site}, Area = {Area}, Enabled = {Enabled} }}");
        return b.ToString();
    }
}
