using CivicLens.Rules.Configuration;

namespace CivicLens.Reports.Geo;

/// <summary>Distances and containment on WGS84 points; good to a metre at a district's scale.</summary>
public static class GeoMath
{
    private const double EarthRadiusMetres = 6_371_008.8;

    /// <summary>Great-circle distance in metres (haversine).</summary>
    public static double Distance(GeoPoint a, GeoPoint b)
    {
        var lat1 = Radians(a.Latitude);
        var lat2 = Radians(b.Latitude);
        var dLat = lat2 - lat1;
        var dLon = Radians(b.Longitude - a.Longitude);
        var h = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) + Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthRadiusMetres * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    /// <summary>Whether <paramref name="p"/> lies inside the ring (even-odd rule; the ring may or may not repeat its first point).</summary>
    public static bool Contains(IReadOnlyList<GeoPoint> ring, GeoPoint p)
    {
        var inside = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            var (xi, yi, xj, yj) = (ring[i].Longitude, ring[i].Latitude, ring[j].Longitude, ring[j].Latitude);
            if ((yi > p.Latitude) != (yj > p.Latitude) && p.Longitude < ((xj - xi) * (p.Latitude - yi) / (yj - yi)) + xi) inside = !inside;
        }

        return inside;
    }

    /// <summary>Whether the numbers are a real place: latitude in [-90, 90], longitude in [-180, 180], finite.</summary>
    public static bool IsValid(double latitude, double longitude) =>
        double.IsFinite(latitude) && double.IsFinite(longitude) && latitude is >= -90 and <= 90 && longitude is >= -180 and <= 180;

    private static double Radians(double degrees) => degrees * Math.PI / 180;
}

/// <summary>Which of the district's areas a pin lies in.</summary>
public sealed class AreaLocator(CivicLensConfig config)
{
    private readonly CivicLensConfig _config = config ?? throw new ArgumentNullException(nameof(config));

    /// <summary>
    /// The area holding the point; the district itself when it lies in the district but in no listed area; null
    /// when it is outside the district (or, with no outline configured, never: everything is the district's).
    /// </summary>
    public string? Locate(GeoPoint p)
    {
        foreach (var area in _config.Areas)
        {
            if (GeoMath.Contains(area.Outline, p)) return area.Id;
        }

        if (_config.District is not { } d) return "district";
        return GeoMath.Contains(d.Outline, p) ? d.Id : null;
    }
}
