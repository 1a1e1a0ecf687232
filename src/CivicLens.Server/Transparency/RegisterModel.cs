namespace CivicLens.Server.Transparency;

// What the public register shows. Nothing here identifies a person: no event, box, snapshot, stream URL or staff
// account name has a field in these records (departments only), so no page or export can carry one.

public sealed record RegisterPlace(string Id, string Name);

public sealed record RegisterDepartment(string Id, string Name, string? Contact);

public sealed record RegisterAnalytic(string Type, string Description);

/// <summary>One camera as the public sees it.</summary>
public sealed record RegisterCamera(
    string Id,
    string Name,
    RegisterPlace Area,
    RegisterPlace? Site,
    double Latitude,
    double Longitude,
    double? Heading,
    double? FieldOfView,
    double? Range,
    string Purpose,
    string LegalBasis,
    RegisterDepartment Department,
    int RetentionDays,
    IReadOnlyList<RegisterAnalytic> Analytics,
    bool InService);

/// <summary>A page of the inventory (keyset paging by camera id).</summary>
public sealed record RegisterPage(string District, IReadOnlyList<RegisterCamera> Cameras, string? Next);

/// <summary>
/// How long the store keeps what is not per camera: events outside any case, closed cases, and sealed originals
/// (null when the city has not switched them on).
/// </summary>
public sealed record RetentionPolicy(int EventRetentionDays, int ClosedCaseRetentionDays, double? SealedOriginalHours)
{
    /// <summary>Days a report (with its photos) is kept after its case closed.</summary>
    public int ReportDays { get; init; }

    /// <summary>Days a report that never became a case is kept after it was submitted.</summary>
    public int UnlinkedReportDays { get; init; }

    /// <summary>Days a reporter's contact is kept when the report has no case (with a case: until it closes).</summary>
    public int ContactDays { get; init; }

    /// <summary>Days audit records are kept.</summary>
    public int AuditDays { get; init; }
}

/// <summary>The export document: the district, what is never done, the retention policy and every camera in service.</summary>
public sealed record RegisterInventory(string District, DateTimeOffset GeneratedAt, IReadOnlyList<string> NeverDone, RetentionPolicy RetentionPolicy,
    IAsyncEnumerable<RegisterCamera> Cameras);

/// <summary>Counts for one calendar month (yyyy-MM, in the district's time zone).</summary>
public sealed record MonthStatistics(string Month, IReadOnlyDictionary<string, int> Events, int Reveals);

public sealed record RegisterStatistics(
    string District,
    string TimeZone,
    DateTimeOffset GeneratedAt,
    int CamerasInService,
    IReadOnlyDictionary<string, int> CamerasByAnalytics,
    IReadOnlyList<MonthStatistics> Months);

/// <summary>How many cameras in service keep their redacted evidence this many days.</summary>
public sealed record RetentionSetting(int RetentionDays, int Cameras);

public sealed record AnnualReport(
    int Year,
    string District,
    string TimeZone,
    DateTimeOffset GeneratedAt,
    IReadOnlyList<RegisterCamera> Cameras,
    IReadOnlyList<RetentionSetting> Retention,
    RetentionPolicy RetentionPolicy,
    IReadOnlyDictionary<string, int> EventsByKind,
    int Reveals,
    IReadOnlyList<MonthStatistics> Months);
