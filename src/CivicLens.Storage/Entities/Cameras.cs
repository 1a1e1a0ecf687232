namespace CivicLens.Storage.Entities;

/// <summary>
/// A camera of the registry. Its stream URL may carry credentials, so it is kept only encrypted
/// (<see cref="StreamUrlSealed"/>, see <c>SecretBox</c>); it never appears in an API answer or a log.
/// </summary>
public sealed class Camera
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string AreaId { get; set; }

    public string? SiteId { get; set; }

    public double Latitude { get; set; }

    public double Longitude { get; set; }

    /// <summary>Direction the camera looks, degrees clockwise from north.</summary>
    public double? Heading { get; set; }

    /// <summary>Horizontal field of view, degrees.</summary>
    public double? FieldOfView { get; set; }

    /// <summary>How far the camera usefully sees, metres (the map's wedge).</summary>
    public double? Range { get; set; }

    public byte[]? StreamUrlSealed { get; set; }

    public required string Purpose { get; set; }

    public required string LegalBasis { get; set; }

    public required string DepartmentId { get; set; }

    public int RetentionDays { get; set; }

    /// <summary>Analytics that run on it (rule types), comma separated, for the transparency register.</summary>
    public string Analytics { get; set; } = "";

    /// <summary>Zones, lines and rules as the camera's configuration document (JSON).</summary>
    public string? Rules { get; set; }

    public bool Enabled { get; set; } = true;

    /// <summary>online, offline or unknown.</summary>
    public string Health { get; set; } = "unknown";

    /// <summary>Unix ms of the last health change.</summary>
    public long? HealthSince { get; set; }
}
