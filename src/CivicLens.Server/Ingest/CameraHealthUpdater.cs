using CivicLens.Domain.Cameras;
using CivicLens.Server.Cameras;
using CivicLens.Storage.Entities;

namespace CivicLens.Server.Ingest;

/// <summary>
/// Moves the registry's health of cameras analysed elsewhere (nodes posting to the ingest API) from their health
/// events: <c>camera.offline</c>, <c>camera.online</c> and <c>camera.tamper</c>. Cameras running in this process
/// report their state directly, with finer detail, so their events are left alone here.
/// </summary>
public sealed class CameraHealthUpdater(CameraStateStore states, CameraHost host)
{
    public Task ApplyAsync(IReadOnlyList<EventRecord> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events.OrderBy(e => e.At))
        {
            if (host.Supervisor?.Find(e.CameraId) is not null) continue;
            CameraStatus? status = (e.Kind, e.Phase) switch
            {
                ("camera.offline", _) => new CameraStatus(CameraState.Offline, DateTimeOffset.FromUnixTimeMilliseconds(e.At), e.Detail ?? "no frames"),
                ("camera.online", _) or ("camera.tamper", "end") => new CameraStatus(CameraState.Streaming, DateTimeOffset.FromUnixTimeMilliseconds(e.At), null),
                ("camera.tamper", _) => new CameraStatus(CameraState.Tamper, DateTimeOffset.FromUnixTimeMilliseconds(e.At), "view " + (e.Detail ?? "tampered with")),
                _ => null,
            };
            if (status is { } s) states.Report(e.CameraId, s);
        }

        return Task.CompletedTask;
    }
}
