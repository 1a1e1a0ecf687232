namespace CivicLens.Storage.Entities;

/// <summary>A district or an area inside one (<see cref="ParentId"/>); its outline is a GeoJSON polygon in WGS84.</summary>
public sealed class Area
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    /// <summary>The district this area belongs to; null for a district.</summary>
    public string? ParentId { get; set; }

    /// <summary>GeoJSON Polygon coordinates: <c>[[[lon,lat],...]]</c>.</summary>
    public required string Polygon { get; set; }
}

/// <summary>A place the city manages: a construction site, a station, a market.</summary>
public sealed class Site
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    /// <summary>construction, station, market, park...</summary>
    public string? Kind { get; set; }

    public required string AreaId { get; set; }

    public string? Polygon { get; set; }

    /// <summary>Free attributes as a JSON object (permit number, contractor, opening hours).</summary>
    public string? Attributes { get; set; }
}

/// <summary>A department that fixes problems; it owns categories and covers areas (see routing).</summary>
public sealed class Department
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    /// <summary>Where the department's work arrives (address for notifications), optional.</summary>
    public string? Contact { get; set; }
}
