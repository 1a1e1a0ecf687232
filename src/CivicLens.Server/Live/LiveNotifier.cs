using System.Text.Json;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.SignalR;

namespace CivicLens.Server.Live;

/// <summary>
/// Sends committed changes to the live feed: each to its area's group and to the district-wide one, on this process's
/// connections and, where other processes serve the same district (a cluster's other hubs), through <see cref="ILivePeers"/>.
/// </summary>
public sealed class LiveNotifier(IHubContext<LiveHub> hub, ILivePeers peers)
{
    public const string AllAreas = "*";

    // SignalR's JSON protocol writes camelCase: a relayed payload must read the same as a local one.
    private static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web);

    public static string Group(string kind, string area) => $"{kind}:{area}";

    public async Task EventsAsync(IReadOnlyList<EventRecord> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events) await SendAsync("event", [Group("events", e.AreaId), Group("events", AllAreas)], EventMessage.From(e));
    }

    public Task CameraAsync(string areaId, object camera) => SendAsync("camera", [Group("registry", areaId), Group("registry", AllAreas)], camera);

    public Task CaseAsync(string areaId, object change) => SendAsync("case", [Group("cases", areaId), Group("cases", AllAreas)], change);

    /// <summary>A message another process of the district sent: to this process's connections only (never relayed again).</summary>
    public Task DeliverAsync(LiveMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var json = JsonDocument.Parse(message.Json);
        return hub.Clients.Groups(message.Groups).SendAsync(message.Method, json.RootElement.Clone());
    }

    private async Task SendAsync(string method, string[] groups, object payload)
    {
        await hub.Clients.Groups(groups).SendAsync(method, payload);
        if (peers.Any) peers.Forward(new LiveMessage(method, groups, JsonSerializer.Serialize(payload, payload.GetType(), Wire)));
    }
}

/// <summary>A live message in a form that travels between processes.</summary>
public sealed record LiveMessage(string Method, string[] Groups, string Json);

/// <summary>The other processes whose consoles must see this one's live feed (none on a single machine).</summary>
public interface ILivePeers
{
    bool Any { get; }

    /// <summary>Hands the message on without waiting: the live feed is a hint, and the API holds the truth.</summary>
    void Forward(LiveMessage message);
}

/// <summary>One process serves the district: nobody else to tell.</summary>
public sealed class NoLivePeers : ILivePeers
{
    public static readonly NoLivePeers Instance = new();

    public bool Any => false;

    public void Forward(LiveMessage message)
    {
    }
}
