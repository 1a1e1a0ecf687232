using System.Collections.Concurrent;
using System.Globalization;
using CivicLens.Domain.Detection;
using CivicLens.Pipeline;
using CivicLens.Pipeline.Supervision;
using CivicLens.Rules;
using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Cameras;

/// <summary>
/// The registry's cameras as analysis sees them: a stored row (placement, accountability, sealed stream, analytics
/// definition) read into a checked <see cref="CameraConfig"/>. Parsed configurations are cached per version, so
/// only cameras that run or are asked about cost memory.
/// </summary>
public sealed class CameraCatalog(CivicLensConfig district, IDbContextFactory<CivicLensDb> dbs, SecretBox secrets, ServerOptions options)
{
    private readonly ConcurrentDictionary<string, (int Version, CameraConfig Camera)> _parsed = new(StringComparer.Ordinal);
    private ModelLabels? _labels;

    public CivicLensConfig District => district;

    /// <summary>The labels of the detector this server's cameras run with: rules needing others are refused when saved.</summary>
    public ModelLabels Labels => _labels ??= LoadLabels();

    private ModelLabels LoadLabels() => LabelsOf(options.DetectorPath, options.ModelsDirectory);

    /// <summary>The labels of the detector a server with these options runs (the bundled COCO-80 one by default).</summary>
    public static ModelLabels LabelsOf(string? detectorPath, string? modelsDirectory)
    {
        var model = detectorPath ?? (modelsDirectory is { } dir ? Path.Combine(dir, AnalysisRunner.DetectorFile) : null);
        return model is null ? ModelLabels.Coco80 : AnalysisRunner.LoadLabels(model);
    }

    /// <summary>A camera of the registry as its rules see it (cached), or null when unknown or its definition no longer reads.</summary>
    public async Task<CameraConfig?> FindAsync(string id, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var row = await db.Cameras.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (row is null) return null;
        try
        {
            return Read(row);
        }
        catch (ConfigException)
        {
            return null;
        }
    }

    /// <summary>A cached camera (one that runs here or was asked about), without a database trip.</summary>
    public CameraConfig? Cached(string id) => _parsed.TryGetValue(id, out var p) ? p.Camera : null;

    /// <summary>Reads a stored row into a checked camera; throws <see cref="ConfigException"/> with every problem.</summary>
    public CameraConfig Read(Camera row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (_parsed.TryGetValue(row.Id, out var cached) && cached.Version == row.Version) return cached.Camera;
        var camera = Parse(row.Id, row.Definition, Fields(row), $"camera {row.Id}");
        _parsed[row.Id] = (row.Version, camera);
        return camera;
    }

    /// <summary>Checks a camera as it would be saved, against the district and this server's detector; throws with every problem.</summary>
    public CameraConfig Check(string id, string? definition, IReadOnlyDictionary<string, object?> fields)
    {
        var camera = Parse(id, definition, fields, $"camera {id}");
        // Building the engine checks the rules against the model's labels and the signals (a PPE rule without a PPE model).
        _ = new CameraRuleEngine(camera, district, Labels, new SignalBoard(district.Signals, district.TimeZone));
        return camera;
    }

    private CameraConfig Parse(string id, string? definition, IReadOnlyDictionary<string, object?> fields, string origin) =>
        ConfigLoader.ParseCamera(id, definition, fields, district, origin);

    /// <summary>The camera and its stream for a node to run; null when it has no stream registered.</summary>
    public CameraSpec? Spec(Camera row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.StreamUrlSealed is null) return null;
        return new CameraSpec(Read(row), secrets.OpenText(row.StreamUrlSealed, DistrictSync.StreamPurpose));
    }

    /// <summary>The registry's columns as a district file's camera keys (what <see cref="ConfigLoader.ParseCamera"/> checks).</summary>
    public IReadOnlyDictionary<string, object?> Fields(Camera row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return Fields(row.Name, row.AreaId, row.SiteId, row.Purpose, row.LegalBasis, row.DepartmentId, row.RetentionDays, row.Latitude, row.Longitude,
            row.Heading, row.FieldOfView, row.Range);
    }

    public IReadOnlyDictionary<string, object?> Fields(string? name, string? area, string? site, string? purpose, string? legalBasis, string? department,
        int retentionDays, double latitude, double longitude, double? heading, double? fieldOfView, double? range) =>
        Fields(district, name, area, site, purpose, legalBasis, department, retentionDays, latitude, longitude, heading, fieldOfView, range);

    /// <summary>The same, against a given district (a cluster node reads the cameras placed on it this way).</summary>
    public static IReadOnlyDictionary<string, object?> Fields(CivicLensConfig district, string? name, string? area, string? site, string? purpose,
        string? legalBasis, string? department, int retentionDays, double latitude, double longitude, double? heading, double? fieldOfView, double? range)
    {
        ArgumentNullException.ThrowIfNull(district);
        var hasLocation = latitude != 0 || longitude != 0;
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["name"] = name,
            // The district itself is every camera's area when none is named; only areas are written on a camera.
            ["area"] = area is not null && district.Areas.Any(a => a.Id == area) ? area : null,
            ["site"] = site,
            ["purpose"] = Blank(purpose),
            ["legal_basis"] = Blank(legalBasis),
            ["department"] = Blank(department),
            ["retention"] = retentionDays > 0 ? retentionDays.ToString(CultureInfo.InvariantCulture) + "d" : null,
            ["location"] = hasLocation ? (longitude, latitude) : null,
            ["heading"] = hasLocation ? heading : null,
            ["field_of_view"] = hasLocation ? fieldOfView : null,
            ["range"] = hasLocation ? range : null,
        };
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
