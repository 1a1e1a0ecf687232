namespace CivicLens.Cluster;

/// <summary>
/// What a node needs to run one camera: the registry row's fields and definition, and its stream address. Crosses
/// the cluster only over mutual TLS; the address may carry credentials, so it never appears in a log or ToString.
/// </summary>
[GenerateSerializer, Immutable, Alias("civiclens.camera-assignment")]
public sealed record CameraAssignment
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required int Version { get; init; }
    [Id(2)] public string? Definition { get; init; }
    [Id(3)] public string? Name { get; init; }
    [Id(4)] public string? AreaId { get; init; }
    [Id(5)] public string? SiteId { get; init; }
    [Id(6)] public string? Purpose { get; init; }
    [Id(7)] public string? LegalBasis { get; init; }
    [Id(8)] public string? DepartmentId { get; init; }
    [Id(9)] public int RetentionDays { get; init; }
    [Id(10)] public double Latitude { get; init; }
    [Id(11)] public double Longitude { get; init; }
    [Id(12)] public double? Heading { get; init; }
    [Id(13)] public double? FieldOfView { get; init; }
    [Id(14)] public double? Range { get; init; }
    [Id(15)] public required string Source { get; init; }

    public override string ToString() => $"CameraAssignment {{ Id = {Id}, Version = {Version} }}";
}

/// <summary>Where a camera runs now, as its grain answers.</summary>
[GenerateSerializer, Immutable, Alias("civiclens.camera-placement")]
public sealed record CameraPlacement([property: Id(0)] string Camera, [property: Id(1)] string Node, [property: Id(2)] string Silo, [property: Id(3)] int Version);

/// <summary>
/// A batch of a node's journalled events (each the journal's own JSON line) and the redacted evidence files they
/// name. The hub stores both before it answers; the node forgets them only after that answer.
/// </summary>
[GenerateSerializer, Immutable, Alias("civiclens.node-events")]
public sealed record NodeEventBatch
{
    [Id(0)] public required string Node { get; init; }
    [Id(1)] public required IReadOnlyList<string> Events { get; init; }
    [Id(2)] public IReadOnlyList<EvidenceFile> Evidence { get; init; } = [];

    /// <summary>How far the hubs' clock is ahead of the node's (measured by the node): the hub corrects the events' times by it.</summary>
    [Id(3)] public TimeSpan ClockOffset { get; init; }

    /// <summary>Unredacted originals of these events, sealed on the node with the district's sealing key (never in the clear).</summary>
    [Id(4)] public IReadOnlyList<EvidenceFile> Sealed { get; init; } = [];
}

/// <summary>A redacted evidence file by its name under the evidence folder (never an original).</summary>
[GenerateSerializer, Immutable, Alias("civiclens.evidence-file")]
public sealed record EvidenceFile([property: Id(0)] string Name, [property: Id(1)] byte[] Content);

/// <summary>One camera's state change on a node (the names of <c>CivicLens.Domain.Cameras.CameraState</c>).</summary>
[GenerateSerializer, Immutable, Alias("civiclens.health-change")]
public sealed record CameraHealthChange([property: Id(0)] string Camera, [property: Id(1)] int State, [property: Id(2)] DateTimeOffset At, [property: Id(3)] string? Reason);

/// <summary>A node as the district sees it: its name, address, capacity and the cameras it runs.</summary>
[GenerateSerializer, Immutable, Alias("civiclens.node-load")]
public sealed record NodeLoad([property: Id(0)] string Name, [property: Id(1)] string Silo, [property: Id(2)] string Role, [property: Id(3)] string Status,
    [property: Id(4)] int Capacity, [property: Id(5)] int Cameras);

/// <summary>A live-feed message as one hub sent it: the SignalR method, the groups, the payload as JSON.</summary>
[GenerateSerializer, Immutable, Alias("civiclens.live-relay")]
public sealed record LiveRelay([property: Id(0)] string Method, [property: Id(1)] string[] Groups, [property: Id(2)] string Json);
