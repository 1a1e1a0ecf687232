using CivicLens.Cluster.Placement;
using Orleans.Runtime;

namespace CivicLens.Cluster.Node;

/// <summary>
/// One camera on one node. The camera's pipeline runs beside the grain (in <see cref="NodeCameras"/>), not inside
/// its turns; the grain owns start, edits and stop, and stays active while its camera runs.
/// </summary>
/// <remarks>
/// The grain keeps no state of its own in PostgreSQL: where the camera ran before (so its health can say it moved)
/// comes with the leader's call (<see cref="PreviousNodeKey"/>, from the registry's <c>node</c> column). A grain
/// state read on every activation and written on every start cost two database round trips per camera, the most of
/// placing 290,000 cameras (docs/benchmarks.md, "Cluster control plane").
/// </remarks>
[NodePlacement]
[KeepAlive]
internal sealed class CameraGrain(NodeCameras cameras, ILocalSiloDetails silo) : Grain, ICameraGrain
{
    /// <summary>The request-context key under which the leader names the node a camera last ran on.</summary>
    public const string PreviousNodeKey = "civiclens.previous-node";

    private int _version;
    private bool _stopped;

    public async Task<CameraPlacement> RunAsync(CameraAssignment assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        if (assignment.Id != this.GetPrimaryKeyString()) throw new ArgumentException("An assignment for another camera.", nameof(assignment));
        if (_stopped)
        {
            // Stopped to move: this activation is on its way out; the next call is placed afresh.
            this.DeactivateOnIdle();
            throw new InvalidOperationException($"camera {assignment.Id} is moving off node {cameras.Name}");
        }

        if (cameras.Draining)
        {
            // This node is leaving: the hub asks again and the next activation lands on another node.
            this.DeactivateOnIdle();
            throw new InvalidOperationException($"node {cameras.Name} is being drained");
        }

        // The leader asks again now and then: an unchanged camera is left running as it is.
        if (_version == assignment.Version && cameras.IsRunning(assignment.Id)) return Placement();
        var first = _version == 0;
        var movedFrom = first && RequestContext.Get(PreviousNodeKey) is string previous && previous != cameras.Name ? previous : null;
        try
        {
            await cameras.RunAsync(assignment, movedFrom, CancellationToken.None);
        }
        catch
        {
            if (first) this.DeactivateOnIdle();
            throw;
        }

        _version = assignment.Version;
        return Placement();
    }

    public async Task StopAsync(string reason)
    {
        await cameras.StopAsync(this.GetPrimaryKeyString());
        _version = 0;
        _stopped = true;
        this.DeactivateOnIdle();
    }

    public async Task MoveAsync(string silo)
    {
        await cameras.StopAsync(this.GetPrimaryKeyString());
        _version = 0;
        // Orleans moves the activation and its directory entry together; the hint names the node the leader chose.
        RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(silo));
        this.MigrateOnIdle();
    }

    public Task<CameraPlacement?> WhereAsync() => Task.FromResult(_version == 0 ? null : Placement());

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Shutdown, a failed start or a stop: nothing of this camera keeps running on this node.
        await cameras.StopAsync(this.GetPrimaryKeyString());
    }

    private CameraPlacement Placement() => new(this.GetPrimaryKeyString(), cameras.Name, silo.SiloAddress.ToParsableString(), _version);
}
