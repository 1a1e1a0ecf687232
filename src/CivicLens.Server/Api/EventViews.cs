using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Events;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>Another camera's redacted view of an event at a site it also covers: which camera, when, and where the JPEG is served.</summary>
/// <param name="Id">The view's id, as in <paramref name="Url"/>.</param>
/// <param name="Event">The event it shows.</param>
/// <param name="CameraName">The camera's name in the registry (null if it was removed since).</param>
public sealed record EventView(long Id, Guid Event, string Camera, string? CameraName, DateTimeOffset At, string Url);

/// <summary>One event as <c>GET /api/events/{id}</c> shows it: the event and the other cameras' views of it ("three angles").</summary>
public sealed record EventDetail : EventMessage
{
    public EventDetail(EventMessage e, IReadOnlyList<EventView> views) : base(e) => Views = views;

    public IReadOnlyList<EventView> Views { get; }

    /// <summary>The legal holds in force on the event (itself, its case, its camera's span): "held".</summary>
    public IReadOnlyList<Holds.HoldBadge>? Holds { get; init; }
}

/// <summary>The views of events that are still kept: a view's file goes with its own camera's snapshot retention, its row with the event.</summary>
public static class EventViews
{
    /// <summary>At most this many views are listed per answer (a case lists its events' views together).</summary>
    public const int MaxListed = 500;

    /// <summary>The views of <paramref name="events"/> whose files are still in <paramref name="snapshotDirectory"/>, oldest first.</summary>
    public static async Task<List<EventView>> ForEventsAsync(CivicLensDb db, IReadOnlyCollection<Guid> events, string snapshotDirectory, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return [];
        var rows = await db.EventEvidence.AsNoTracking().Where(v => events.Contains(v.EventId)).OrderBy(v => v.At).ThenBy(v => v.Id).Take(MaxListed).ToListAsync(ct);
        rows.RemoveAll(r => PathOf(snapshotDirectory, r.Snapshot) is not { } path || !File.Exists(path));
        if (rows.Count == 0) return [];
        var cameraIds = rows.Select(r => r.CameraId).Distinct().ToList();
        var names = await db.Cameras.AsNoTracking().Where(c => cameraIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, c => c.Name, ct);
        return rows.ConvertAll(r => new EventView(r.Id, r.EventId, r.CameraId, names.GetValueOrDefault(r.CameraId), DateTimeOffset.FromUnixTimeMilliseconds(r.At), Url(r)));
    }

    public static string Url(EventEvidence view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return $"/api/events/{view.EventId}/views/{view.Id}";
    }

    /// <summary>The file of a stored name inside the snapshot folder, never outside it (null for a name that is not a bare file name).</summary>
    public static string? PathOf(string snapshotDirectory, string snapshot)
    {
        var name = Path.GetFileName(snapshot);
        return name.Length == 0 || name != snapshot ? null : Path.Combine(snapshotDirectory, name);
    }
}
