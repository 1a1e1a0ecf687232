namespace CivicLens.Server.Accounts;

/// <summary>
/// The five roles. Each sees only what its work needs: viewers redacted data, operators cases, investigators
/// sealed originals (with a reason), admins configuration (no footage), auditors the audit log only.
/// </summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Investigator = "investigator";
    public const string Admin = "admin";
    public const string Auditor = "auditor";

    /// <summary>Analysis nodes and integrations posting events with an API key.</summary>
    public const string Node = "node";

    /// <summary>311 apps filing reports through Open311 with an API key (no other endpoint).</summary>
    public const string Open311App = "open311-app";

    /// <summary>A metrics scraper (Prometheus) reading <c>/metrics</c> with an API key (no other endpoint).</summary>
    public const string Metrics = "metrics";

    public static readonly IReadOnlyList<string> Staff = [Viewer, Operator, Investigator, Admin, Auditor];

    /// <summary>Roles that must use a second factor (the issue names operators and admins; investigators reveal originals, so they do too).</summary>
    public static bool RequiresSecondFactor(string role) => role is Operator or Admin or Investigator;

    public static bool IsStaff(string role) => Staff.Contains(role);
}

/// <summary>Authorization policies: which roles reach which endpoints (the matrix tests enumerate them).</summary>
public static class Policies
{
    /// <summary>Event metadata and redacted evidence.</summary>
    public const string ReadEvents = "read-events";

    /// <summary>Cameras, sites, areas, departments.</summary>
    public const string ReadRegistry = "read-registry";

    public const string ReadCases = "read-cases";

    public const string WorkCases = "work-cases";

    public const string Reveal = "reveal";

    public const string Configure = "configure";

    public const string ReadAudit = "read-audit";

    public const string Ingest = "ingest";

    /// <summary>Field reports from staff (patrol officers hold viewer accounts).</summary>
    public const string SubmitReports = "submit-reports";

    /// <summary>The operational metrics (<c>/metrics</c>): counts and latencies, no event data.</summary>
    public const string ReadMetrics = "read-metrics";

    /// <summary>Legal holds: place, extend, release (investigators for their matters, admins for the city).</summary>
    public const string ManageHolds = "manage-holds";

    public static readonly IReadOnlyDictionary<string, string[]> Matrix = new Dictionary<string, string[]>
    {
        [ReadEvents] = [Roles.Viewer, Roles.Operator, Roles.Investigator],
        [ReadRegistry] = [Roles.Viewer, Roles.Operator, Roles.Investigator, Roles.Admin],
        [ReadCases] = [Roles.Viewer, Roles.Operator, Roles.Investigator],
        [WorkCases] = [Roles.Operator],
        [Reveal] = [Roles.Investigator],
        [Configure] = [Roles.Admin],
        [ReadAudit] = [Roles.Auditor],
        [Ingest] = [Roles.Node],
        [SubmitReports] = [Roles.Viewer, Roles.Operator, Roles.Investigator, Roles.Admin],
        [ReadMetrics] = [Roles.Metrics, Roles.Admin],
        [ManageHolds] = [Roles.Investigator, Roles.Admin],
    };
}
