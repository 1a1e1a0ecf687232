namespace CivicLens.Server.Hosting;

/// <summary>
/// Whether this process runs the district's once-only jobs now: the SLA watch, retention and outbox delivery. One
/// process always does; in a cluster only the hub that leads the district does, and the jobs move with the lead.
/// </summary>
public interface IJobDuty
{
    bool RunsJobs { get; }
}

/// <summary>A single machine: this process runs every job.</summary>
public sealed class AlwaysOnDuty : IJobDuty
{
    public static AlwaysOnDuty Instance { get; } = new();

    public bool RunsJobs => true;
}
