using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.AspNetCore.SignalR;

namespace CivicLens.Server.Live;

/// <summary>Sends committed changes to the live feed: each to its area's group and to the district-wide one.</summary>
public sealed class LiveNotifier(IHubContext<LiveHub> hub)
{
    public const string AllAreas = "*";

    public static string Group(string kind, string area) => $"{kind}:{area}";

    public async Task EventsAsync(IReadOnlyList<EventRecord> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            var message = EventMessage.From(e);
            await hub.Clients.Groups(Group("events", e.AreaId), Group("events", AllAreas)).SendAsync("event", message);
        }
    }

    public Task CameraAsync(string areaId, object camera) =>
        hub.Clients.Groups(Group("registry", areaId), Group("registry", AllAreas)).SendAsync("camera", camera);

    public Task CaseAsync(string areaId, object change) =>
        hub.Clients.Groups(Group("cases", areaId), Group("cases", AllAreas)).SendAsync("case", change);
}
