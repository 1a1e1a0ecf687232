using CivicLens.Cluster.Hosting;
using CivicLens.Cluster.Placement;
using Orleans.Runtime;

namespace CivicLens.Cluster.Node;

/// <summary>What a camera grain keeps in PostgreSQL across moves: where it last ran, so the next node can say it moved.</summary>
[GenerateSerializer, Alias("civiclens.camera-grain-state")]
public sealed class CameraGrainState
{
    [Id(0)] public string? Node { get; set; }
    [Id(1)] public DateTimeOffset? StartedAt { get; set; }
}

/// <summary>
/// One camera on one node. The camera's pipeline runs beside the grain (in <see cref="NodeCameras"/>), not inside
/// its turns; the grain owns start, edits and stop, and stays active while its camera runs.
/// </summary>
[NodePlacement]
[KeepAlive]
internal sealed partial class CameraGrain(NodeCameras cameras, ILocalSiloDetails silo, [PersistentState("camera", ClusterSetup.GrainStore)] IPersistentState<CameraGrainState> state,
    ILogger<CameraGrain> logger) : Grain, ICameraGrain
{
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
        var movedFrom = first && state.State.Node is { } previous && previous != cameras.Name ? previous : null;
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
        if (first) await RememberAsync();
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

    private async Task RememberAsync()
    {
        state.State.Node = cameras.Name;
        state.State.StartedAt = DateTimeOffset.UtcNow;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The database is away: the camera runs anyway; only "moved from" is lost for its next move.
            LogStateNotWritten(logger, this.GetPrimaryKeyString(), ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Camera {Camera}: where it runs was not recorded: {Error}")]
    private static partial void LogStateNotWritten(ILogger logger, string camera, string error);
}
