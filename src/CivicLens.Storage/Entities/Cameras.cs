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

    /// <summary>
    /// The camera's analytics definition: resolution, zones, lines, privacy masks, rules and health settings as the
    /// district file writes them (YAML), without the registry's own fields. Null: none yet (it streams for health only).
    /// </summary>
    public string? Definition { get; set; }

    /// <summary>The operator wants it analysed. Stays as set across restarts; a retired camera is never enabled.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Unix ms when it was retired (taken out of service for good); null while in service. Its row and events stay.</summary>
    public long? RetiredAt { get; set; }

    /// <summary>streaming, starting, reconnecting, offline, tamper, failed, disabled, no-source or retired (see CameraStates).</summary>
    public string Health { get; set; } = "disabled";

    /// <summary>Unix ms of the last health change.</summary>
    public long? HealthSince { get; set; }

    /// <summary>Why it is in that state (an operator's words: never a URL).</summary>
    public string? HealthReason { get; set; }

    /// <summary>In a cluster, the worker node that runs it now (null on a single machine, or while it has none).</summary>
    public string? Node { get; set; }

    /// <summary>Unix ms of the last change to the registry entry (what running nodes poll for).</summary>
    public long UpdatedAt { get; set; }

    /// <summary>Bumped by every registry change; an edit made from a stale copy is refused.</summary>
    public int Version { get; set; } = 1;
}

/// <summary>
/// One change of a camera's health state. Only changes are stored, so a healthy district costs nothing; the current
/// state is also on the camera's row (<see cref="Camera.Health"/>) for counting.
/// </summary>
public sealed class CameraHealthChange
{
    public long Id { get; set; }

    public required string CameraId { get; set; }

    public required string State { get; set; }

    public string? Reason { get; set; }

    /// <summary>Unix ms.</summary>
    public long At { get; set; }
}

/// <summary>
/// How many cameras of an area are in a state, kept by database triggers on <c>cameras</c> in the same transaction as
/// every insert, delete and change of state or area (whoever writes it), so counting a district of 290,000 cameras
/// reads a few hundred rows instead of scanning the registry. On PostgreSQL the triggers append
/// <see cref="CameraStateDelta"/> rows instead (one row updated again and again in one transaction is slow there),
/// folded into these counts every few seconds; a count is these rows plus the deltas not yet folded.
/// </summary>
public sealed class CameraStateCount
{
    public required string AreaId { get; set; }

    public required string State { get; set; }

    public int Cameras { get; set; }
}

/// <summary>A change to <see cref="CameraStateCount"/> not yet folded into it (PostgreSQL; see there).</summary>
public sealed class CameraStateDelta
{
    public long Id { get; set; }

    public required string AreaId { get; set; }

    public required string State { get; set; }

    public int Cameras { get; set; }
}
