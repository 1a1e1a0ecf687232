using System.Collections.Concurrent;
using CivicLens.Cluster.Placement;
using CivicLens.Domain.Cameras;
using CivicLens.Server.Cameras;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace CivicLens.Cluster.Hub;

/// <summary>
/// On the leading hub: keeps every enabled camera of the registry running on some node. It hands each camera grain
/// its assignment (placement picks the node: <see cref="NodeLoadBook"/>), moves the cameras of a node that left or
/// died the moment the cluster says so, spreads cameras onto a node that joins a few at a time (no storm), and
/// stops cameras that were disabled or retired. Camera health shows <c>moving</c> while a camera has no node.
/// </summary>
public sealed partial class CameraPlacer(IGrainFactory grains, IClusterMembershipService membership, NodeLoadBook book, HubLeadership leadership,
    IDbContextFactory<CivicLensDb> dbs, SecretBox secrets, CameraStateStore states, RegistrySignal signal, ServerOptions options, TimeProvider time,
    ILogger<CameraPlacer> logger) : BackgroundService
{
    /// <summary>Camera grains asked at once.</summary>
    public const int Parallelism = 32;

    /// <summary>
    /// Cameras asked in one round at most, those waiting longest first. A sweep of 290,000 cameras is many short
    /// rounds, so a node that dies meanwhile has its cameras moved in the next round, not after the whole sweep.
    /// </summary>
    public const int MaxPerRound = 5000;

    /// <summary>Cameras moved onto a new node per second while the district rebalances.</summary>
    public const int MovesPerSecond = 50;

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, int> _desired = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _placed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, TimeSpan Wait)> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<SiloAddress> _seenNodes = [];
    private readonly ConcurrentDictionary<string, string> _why = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SiloAddress> _movedFrom = new(StringComparer.Ordinal);
    private static readonly TimeSpan MoveSettle = TimeSpan.FromSeconds(3);
    private DateTimeOffset _nextSync = DateTimeOffset.MinValue;
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;
    private long _watermark = -1;
    private bool _rebalance;
    private volatile bool _balanceFutile;
    private bool _wasLeader;

    /// <summary>How often every camera is asked again (a grain lost without its node being declared dead).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Cameras placed and running, by this leader's count.</summary>
    public int Placed => _placed.Count;

    /// <summary>Cameras waiting for a node (starting, moving or no room).</summary>
    public int Waiting => _pending.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watch = WatchMembershipAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var more = false;
            try
            {
                if (leadership.IsLeader)
                {
                    if (!_wasLeader) TakeOver();
                    more = await RoundAsync(stoppingToken);
                }
                else
                {
                    _wasLeader = false;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The registry is away: running cameras go on; placement resumes when it is back.
                LogRoundFailed(logger, ex.Message);
                _nextSync = time.GetUtcNow() + TimeSpan.FromSeconds(2);
            }

            // More cameras due than one round takes: the next round starts at once.
            if (await signal.WaitAsync(more ? TimeSpan.Zero : Tick, stoppingToken)) _nextSync = DateTimeOffset.MinValue;
        }

        await watch;
    }

    /// <summary>A new leader learns where cameras run by asking them (their grains answer from wherever they are).</summary>
    private void TakeOver()
    {
        _wasLeader = true;
        _placed.Clear();
        _pending.Clear();
        _nextSync = DateTimeOffset.MinValue;
        _nextSweep = time.GetUtcNow() + SweepInterval;
        _watermark = -1;
    }

    /// <summary>One round; true when more cameras are due than it took.</summary>
    private async Task<bool> RoundAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        while (leadership.TryTakeLeaving(out var leaving)) Close(leaving, "is shutting down");
        while (leadership.TryTakeShed(out var shed)) await ShedAsync(shed, ct);
        if (now >= _nextSync)
        {
            await SyncAsync(ct);
            _nextSync = now + options.RegistryPollInterval;
        }

        if (now >= _nextSweep)
        {
            // Now and then the whole registry is read again and every camera asked: what a missed change or a lost
            // activation left wrong is set right.
            _watermark = -1;
            await SyncAsync(ct);
            foreach (var id in _desired.Keys) _pending.TryAdd(id, (now, TimeSpan.Zero));
            _placed.Clear();
            _nextSweep = now + SweepInterval;
        }

        var due = _pending.Where(p => p.Value.At <= now).ToList();
        var more = due.Count > MaxPerRound;
        var ids = (more ? due.OrderBy(p => p.Value.At).Take(MaxPerRound) : due).Select(p => p.Key).ToList();
        if (ids.Count > 0 && !AnyNodeHasRoom())
        {
            // A camera without a node would only fail in placement: say why once and wait for a node. Cameras already
            // running somewhere (a sweep asks them again) are asked where they are: a full district is not a moving one.
            var homeless = ids.Where(id => book.Where(id) is null).ToList();
            foreach (var id in homeless) Retry(id, new NoNodeRoomException(NodeCount() == 0 ? "no worker node has joined the cluster" : "all worker nodes are full"));
            ids = [.. ids.Where(id => book.Where(id) is not null)];
        }

        if (ids.Count > 0) await RunAsync(ids, ct);
        if (_rebalance) await RebalanceAsync();
        return more;
    }

    /// <summary>Reads which cameras should run (and at which version) and queues what changed.</summary>
    /// <remarks>
    /// The first look (and each sweep) reads every camera; later looks read only rows stamped since the last one,
    /// less <see cref="CameraHost.ChangeWindow"/> (a row is stamped by its writer's clock before its transaction
    /// commits), so a district of 290,000 cameras costs a handful of rows a look.
    /// </remarks>
    private async Task SyncAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var full = _watermark < 0;
        var since = full ? long.MinValue : _watermark - (long)CameraHost.ChangeWindow.TotalMilliseconds;
        var latest = await db.Cameras.MaxAsync(c => (long?)c.UpdatedAt, ct) ?? 0;
        var query = db.Cameras.AsNoTracking();
        query = full ? query.Where(c => c.Enabled && c.RetiredAt == null && c.StreamUrlSealed != null) : query.Where(c => c.UpdatedAt >= since);
        var rows = await query
            .Select(c => new { c.Id, c.Version, c.Enabled, c.RetiredAt, HasSource = c.StreamUrlSealed != null, c.Purpose, c.LegalBasis, c.DepartmentId, c.RetentionDays })
            .ToListAsync(ct);
        var now = time.GetUtcNow();
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var unwanted = new List<string>();
        foreach (var r in rows)
        {
            // Purpose before power, also for a row written by hand: the node checks again when it starts.
            if (!r.Enabled || r.RetiredAt is not null || !r.HasSource || CameraAccountability.Missing(r.Purpose, r.LegalBasis, r.DepartmentId, r.RetentionDays).Count > 0)
            {
                unwanted.Add(r.Id);
                continue;
            }

            wanted.Add(r.Id);
            _desired[r.Id] = r.Version;
            if (!_placed.TryGetValue(r.Id, out var v) || v != r.Version) _pending.TryAdd(r.Id, (now, TimeSpan.Zero));
        }

        _watermark = Math.Max(_watermark, latest);
        var gones = full ? _desired.Keys.Where(k => !wanted.Contains(k)).ToList() : unwanted.Where(_desired.ContainsKey).ToList();
        var stopped = new List<string>();
        foreach (var gone in gones)
        {
            _desired.Remove(gone);
            _pending.TryRemove(gone, out _);
            _placed.TryRemove(gone, out _);
            if (await StopAsync(gone, "disabled or retired")) stopped.Add(gone);
        }

        // A stopped camera runs on no node (not a registry change: the version stays).
        foreach (var chunk in stopped.Chunk(1000))
        {
            await db.Cameras.Where(c => chunk.Contains(c.Id)).ExecuteUpdateAsync(s => s.SetProperty(c => c.Node, (string?)null), ct);
        }
    }

    private async Task RunAsync(List<string> ids, CancellationToken ct)
    {
        var any = false;
        foreach (var chunk in ids.Chunk(500))
        {
            var placedNow = new ConcurrentBag<CameraPlacement>();
            List<Storage.Entities.Camera> rows;
            await using (var db = await dbs.CreateDbContextAsync(ct))
            {
                rows = await db.Cameras.AsNoTracking().Where(c => chunk.Contains(c.Id)).ToListAsync(ct);
            }

            await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (row, token) =>
            {
                if (!_desired.ContainsKey(row.Id) || row.StreamUrlSealed is null || !row.Enabled || row.RetiredAt is not null)
                {
                    _pending.TryRemove(row.Id, out _);
                    return;
                }

                try
                {
                    var assignment = Assignment(row);
                    // The node is chosen here, from this leader's book, and travels with the call (see NodePlacementDirector).
                    var node = book.Where(row.Id) ?? book.Place(row.Id, OpenNodes().Select(n => n.Silo));
                    Orleans.Runtime.RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, node);
                    // Where it ran before, from the registry: the new node's health says "moved from" without a grain state of its own.
                    if (row.Node is not null) Orleans.Runtime.RequestContext.Set(Node.CameraGrain.PreviousNodeKey, row.Node);
                    CameraPlacement placement;
                    try
                    {
                        placement = await grains.GetGrain<ICameraGrain>(row.Id).RunAsync(assignment).WaitAsync(CallTimeout, token);
                    }
                    finally
                    {
                        Orleans.Runtime.RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey);
                        Orleans.Runtime.RequestContext.Remove(Node.CameraGrain.PreviousNodeKey);
                    }

                    var at = SiloAddress.FromParsableString(placement.Silo);
                    book.Assign(row.Id, at);
                    if (_movedFrom.TryRemove(row.Id, out var from) && from.Equals(at))
                    {
                        // Moved for balance and placed where it was: balancing cannot do better now; stop rather than churn.
                        _balanceFutile = true;
                        _rebalance = false;
                    }

                    _placed[row.Id] = row.Version;
                    _pending.TryRemove(row.Id, out _);
                    _why.TryRemove(row.Id, out _);
                    placedNow.Add(placement);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    Retry(row.Id, ex);
                }
            });

            // Recorded chunk by chunk: with 290,000 cameras to place, the console shows them arriving, not all at the end.
            if (placedNow.IsEmpty) continue;
            any = true;
            await RecordNodesAsync(placedNow, ct);
        }

        if (any)
        {
            // Cameras placed while nodes were still joining may sit on the first one: see whether the load is fair
            // (unless a camera moved for balance came back where it was: then balancing cannot do better now).
            if (!_balanceFutile) _rebalance = true;
        }
    }

    private CameraAssignment Assignment(Storage.Entities.Camera row) => new()
    {
        Id = row.Id,
        Version = row.Version,
        Definition = row.Definition,
        Name = row.Name,
        AreaId = row.AreaId,
        SiteId = row.SiteId,
        Purpose = row.Purpose,
        LegalBasis = row.LegalBasis,
        DepartmentId = row.DepartmentId,
        RetentionDays = row.RetentionDays,
        Latitude = row.Latitude,
        Longitude = row.Longitude,
        Heading = row.Heading,
        FieldOfView = row.FieldOfView,
        Range = row.Range,
        Source = secrets.OpenText(row.StreamUrlSealed!, DistrictSync.StreamPurpose),
    };

    private void Retry(string id, Exception ex)
    {
        var now = time.GetUtcNow();
        var wait = _pending.TryGetValue(id, out var p) ? TimeSpan.FromTicks(Math.Clamp(p.Wait.Ticks * 2, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(30).Ticks)) : TimeSpan.FromSeconds(1);
        _pending[id] = (now + wait, wait);
        _placed.TryRemove(id, out _);
        // The node it was booked on refused or did not answer: the next try chooses again.
        book.Forget(id);
        var reason = Unwrap(ex) switch
        {
            NoNodeRoomException room => "waiting for a node: " + room.Message,
            TimeoutException => "its node did not answer in time; trying again",
            var inner => "not started: " + Pipeline.Supervision.CameraWorker.Safe(inner.Message),
        };
        // Said once per reason: a district waiting for nodes is not a log storm.
        if (_why.TryGetValue(id, out var said) && said == reason) return;
        _why[id] = reason;
        states.Report(id, new CameraStatus(CameraState.Moving, now, reason));
        LogNotPlaced(logger, id, reason);
    }

    private static Exception Unwrap(Exception ex) => ex is AggregateException { InnerException: { } inner } ? Unwrap(inner) : ex.InnerException is NoNodeRoomException r ? r : ex;

    private async Task<bool> StopAsync(string id, string reason)
    {
        var stopped = true;
        try
        {
            await grains.GetGrain<ICameraGrain>(id).StopAsync(reason).WaitAsync(CallTimeout);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotStopped(logger, id, ex.Message);
            stopped = false;
        }

        book.Forget(id);
        return stopped;
    }

    /// <summary>Which node runs each camera, for the console (not a registry change: the version stays).</summary>
    private async Task RecordNodesAsync(IEnumerable<CameraPlacement> placements, CancellationToken ct)
    {
        try
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            foreach (var group in placements.GroupBy(p => p.Node))
            {
                foreach (var chunk in group.Select(p => p.Camera).Chunk(1000))
                {
                    await db.Cameras.Where(c => chunk.Contains(c.Id) && c.Node != group.Key).ExecuteUpdateAsync(s => s.SetProperty(c => c.Node, group.Key), ct);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            LogRoundFailed(logger, ex.Message);
        }
    }

    private async Task WatchMembershipAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct))
            {
                foreach (var (silo, member) in snapshot.Members)
                {
                    switch (member.Status)
                    {
                        case SiloStatus.Dead:
                            Close(silo, "stopped answering; the cluster declared it dead");
                            break;
                        case SiloStatus.ShuttingDown or SiloStatus.Stopping:
                            Close(silo, "is shutting down");
                            break;
                        case SiloStatus.Active when book.Describe(silo).Role == ClusterRoles.Node && _seenNodes.Add(silo):
                            // A node that joins takes a share of the cameras already placed, and cameras waiting for room try now.
                            _rebalance = true;
                            _balanceFutile = false;
                            foreach (var id in _pending.Keys) _pending[id] = (time.GetUtcNow(), TimeSpan.Zero);
                            break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>A node left: its cameras are moving now (the next round places them on the others).</summary>
    private void Close(SiloAddress silo, string why)
    {
        if (book.IsClosed(silo) && book.Count(silo) == 0) return;
        var name = book.Describe(silo).Name;
        var cameras = book.Close(silo);
        if (!leadership.IsLeader) return;
        var now = time.GetUtcNow();
        foreach (var id in cameras)
        {
            _placed.TryRemove(id, out _);
            if (!_desired.ContainsKey(id)) continue;
            // Before any camera a sweep queued: a camera without a node goes first.
            _pending[id] = (DateTimeOffset.MinValue, TimeSpan.Zero);
            states.Report(id, new CameraStatus(CameraState.Moving, now, $"node {name} {why}; moving to another node"));
        }

        if (cameras.Count > 0) LogMoving(logger, cameras.Count, name, why);
    }

    /// <summary>Worker nodes that are active and not leaving, with their capacity.</summary>
    private IEnumerable<(SiloAddress Silo, int Capacity)> OpenNodes() =>
        membership.CurrentSnapshot.Members
            .Where(m => m.Value.Status == SiloStatus.Active && !book.IsClosed(m.Key))
            .Select(m => (Silo: m.Key, Node: book.Describe(m.Key)))
            .Where(n => n.Node.Role == ClusterRoles.Node)
            .Select(n => (n.Silo, n.Node.Capacity));

    private int NodeCount() => OpenNodes().Count();

    private bool AnyNodeHasRoom() => OpenNodes().Any(n => book.Count(n.Silo) < n.Capacity);

    /// <summary>Moves cameras from the fullest nodes to the emptiest, <see cref="MovesPerSecond"/> at a time.</summary>
    private async Task RebalanceAsync()
    {
        var nodes = OpenNodes().Where(n => n.Capacity > 0).Select(n => (n.Silo, n.Capacity, Count: book.Count(n.Silo))).ToList();
        var total = nodes.Sum(n => n.Count);
        var capacity = nodes.Sum(n => n.Capacity);
        if (nodes.Count < 2 || total == 0 || !_pending.IsEmpty)
        {
            _rebalance = !_pending.IsEmpty && nodes.Count >= 2;
            return;
        }

        var moves = new List<string>();
        foreach (var n in nodes)
        {
            var target = (int)Math.Ceiling((double)total * n.Capacity / capacity);
            var excess = n.Count - target;
            if (excess <= 0) continue;
            moves.AddRange(book.CamerasOn(n.Silo).Order(StringComparer.Ordinal).Take(Math.Min(excess, MovesPerSecond - moves.Count)));
            if (moves.Count >= MovesPerSecond) break;
        }

        if (moves.Count == 0)
        {
            _rebalance = false;
            return;
        }

        await Parallel.ForEachAsync(moves, new ParallelOptions { MaxDegreeOfParallelism = Parallelism },
            async (id, token) => await MoveAsync(id, "moving to a node that joined, to share the load", token));
        LogRebalanced(logger, moves.Count);
    }

    /// <summary>
    /// Moves one camera off its node to the node with the most room (rebalancing, or a node that could not keep up):
    /// stopped there, its grain migrated with the new node as the hint, asked again once it settled. False when no
    /// other node has room (the camera stays where it is).
    /// </summary>
    private async Task<bool> MoveAsync(string id, string why, CancellationToken ct)
    {
        var from = book.Where(id);
        if (from is null) return false;
        SiloAddress to;
        try
        {
            to = book.Place(id, OpenNodes().Select(n => n.Silo).Where(s => !s.Equals(from)));
        }
        catch (NoNodeRoomException)
        {
            return false;
        }

        var now = time.GetUtcNow();
        states.Report(id, new CameraStatus(CameraState.Moving, now, why));
        try
        {
            await grains.GetGrain<ICameraGrain>(id).MoveAsync(to.ToParsableString()).WaitAsync(CallTimeout, ct);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogNotStopped(logger, id, ex.Message);
        }

        _placed.TryRemove(id, out _);
        _movedFrom[id] = from;
        // Asked again once the activation has moved; the run starts the camera on its new node.
        _pending[id] = (now + MoveSettle, TimeSpan.Zero);
        return true;
    }

    /// <summary>An overloaded node gave a camera back: it takes no more than it now carries, and the camera goes elsewhere.</summary>
    private async Task ShedAsync(ShedCamera shed, CancellationToken ct)
    {
        book.Limit(shed.Node, shed.Capacity);
        var name = book.Describe(shed.Node).Name;
        LogShed(logger, shed.Camera, name, shed.Capacity, shed.Reason);
        if (!await MoveAsync(shed.Camera, Node.NodeOverloadWatch.MovingReason(name, shed.Reason), ct))
        {
            Retry(shed.Camera, new NoNodeRoomException($"node {name} could not keep up ({shed.Reason}) and no other node has room"));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Placement round failed; running cameras go on: {Error}")]
    private static partial void LogRoundFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Camera {Camera}: {Reason}")]
    private static partial void LogNotPlaced(ILogger logger, string camera, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Camera {Camera} was not stopped on its node: {Error}")]
    private static partial void LogNotStopped(ILogger logger, string camera, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Moving {Count} cameras: node {Node} {Why}")]
    private static partial void LogMoving(ILogger logger, int count, string node, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} gave camera {Camera} back: it could not keep up ({Reason}); it carries at most {Capacity} cameras until it restarts")]
    private static partial void LogShed(ILogger logger, string camera, string node, int capacity, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Moved {Count} cameras to share the load with a node that joined")]
    private static partial void LogRebalanced(ILogger logger, int count);
}
