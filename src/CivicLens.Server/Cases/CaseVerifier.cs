using CivicLens.Reports.Cases;
using CivicLens.Rules.Configuration;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CivicLens.Server.Cases;

/// <summary>
/// Lets a camera confirm a fix: when a case whose site a camera watches with a change-detection rule of the
/// case's category is marked fixed, it waits for that rule to report the problem's zone back to the clean reference
/// kept with its incident (a <c>scene.change</c> end with detail <see cref="Cleared"/>: the zone matched it for the
/// rule's <c>clear_after</c> with no track over it) and then closes, with the camera named in the history. Only the
/// case's own change counts: an incident among the case's events, or, for a case without any (opened from a report),
/// a change the camera saw start before the case was marked fixed; a change that started later (the looped sample
/// showing its object again, a new dumping) is another problem. A change already cleared since the case opened, and
/// not seen again since, confirms at once. The rule also ends its conditions when the stream ends or restarts, when
/// its schedule ends and when it learns a changed view afresh: none of those saw the zone clear, so none confirms;
/// each leaves the case waiting and says why in its history.
/// </summary>
public sealed class CaseVerifier(Cameras.CameraCatalog catalog, CaseDesk desk, IDbContextFactory<CivicLensDb> dbs, TimeProvider time,
    IServiceProvider services)
{
    public const string Awaiting = "awaiting-camera";
    public const string Confirmed = "confirmed";
    private const string SceneChange = "scene.change";

    /// <summary>The scene rule's detail for an end that saw the zone back to its background (anything else saw nothing).</summary>
    public const string Cleared = Rules.Evaluators.SceneChangeRule.Cleared;

    /// <summary>
    /// The camera and zone that can confirm this case's fix: a camera whose events are in the case, or one at the
    /// case's site, with a change-detection rule of the case's category; null when none.
    /// </summary>
    public async Task<(string Camera, string Zone)?> CameraAsync(CaseRecord c, IReadOnlyCollection<string> linkedCameras, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(linkedCameras);
        if (!desk.CategoryOrDefault(c.Category).VerifyWithCamera) return null;
        List<Camera> rows;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var linked = linkedCameras.ToList();
            rows = await db.Cameras.AsNoTracking().Where(x => x.RetiredAt == null && (linked.Contains(x.Id) || (c.SiteId != null && x.SiteId == c.SiteId))).ToListAsync(ct);
        }

        // Cameras whose events are in the case first, then the site's.
        foreach (var row in rows.OrderBy(r => linkedCameras.Contains(r.Id) ? 0 : 1).ThenBy(r => r.Id, StringComparer.Ordinal))
        {
            CameraConfig camera;
            try
            {
                camera = catalog.Read(row);
            }
            catch (ConfigException)
            {
                continue;
            }

            if (camera.Rules.OfType<SceneChangeRuleConfig>().FirstOrDefault(r => r.Enabled && r.Category == c.Category) is { } rule) return (camera.Id, rule.Zone);
        }

        return null;
    }

    /// <summary>Confirms the fixes the new events prove (called after they are committed).</summary>
    public async Task OnEventsAsync(IReadOnlyList<EventRecord> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events.Where(x => x.Kind == SceneChange && x.Phase == "end"))
        {
            List<long> waiting;
            await using (var db = await dbs.CreateDbContextAsync(ct))
            {
                waiting = await db.Cases.AsNoTracking()
                    .Where(c => c.Verification == Awaiting && c.VerifyCameraId == e.CameraId && c.VerifyZone == e.Zone && c.State == CaseStates.Fixed && e.At >= c.OpenedAt)
                    .Select(c => c.Id).ToListAsync(ct);
            }

            foreach (var id in waiting)
            {
                if (!await ConcernsAsync(id, e, ct)) continue;
                if (e.Detail == Cleared) await ConfirmAsync(id, e, ct);
                else await KeepWaitingAsync(id, e, ct);
            }
        }
    }

    /// <summary>
    /// Whether an event of incident <c>e.IncidentId</c> is about this case's problem: the incidents of the case's own
    /// <c>scene.change</c> events at that camera and zone when it has any, otherwise an incident whose start the camera
    /// saw before the case was marked fixed.
    /// </summary>
    private async Task<bool> ConcernsAsync(long caseId, EventRecord e, CancellationToken ct)
    {
        if (e.IncidentId is not { } incident) return false;
        await using var db = await dbs.CreateDbContextAsync(ct);
        var own = await db.Events.AsNoTracking()
            .Where(x => x.CaseId == caseId && x.Kind == SceneChange && x.CameraId == e.CameraId && x.Zone == e.Zone && x.IncidentId != null)
            .Select(x => x.IncidentId!.Value).Distinct().ToListAsync(ct);
        if (own.Count > 0) return own.Contains(incident);
        var fixedAt = await db.Cases.AsNoTracking().Where(c => c.Id == caseId).Select(c => c.FixedAt).FirstOrDefaultAsync(ct);
        var started = await db.Events.AsNoTracking()
            .Where(x => x.Kind == SceneChange && x.Phase == "start" && x.IncidentId == incident && x.CameraId == e.CameraId)
            .Select(x => (long?)x.At).FirstOrDefaultAsync(ct);
        return started is { } at && (fixedAt is not { } f || at <= f);
    }

    /// <summary>The camera's watch ended without seeing the zone clear: the case keeps waiting, and its history says why.</summary>
    private async Task KeepWaitingAsync(long caseId, EventRecord e, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (!await db.Cases.AnyAsync(x => x.Id == caseId && x.Verification == Awaiting && x.State == CaseStates.Fixed, ct)) return;
        db.CaseChanges.Add(new CaseChange
        {
            CaseId = caseId,
            At = time.GetUtcNow().ToUnixTimeMilliseconds(),
            Actor = "system",
            Change = $"camera {e.CameraId} did not see zone {e.Zone} clear ({e.Detail ?? "no reason given"}, event {e.Id}); still waiting for the camera or an operator",
        });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Right after a case was marked fixed: the zone may already be clear (the case's change ended cleared since the
    /// case opened, and no change has started there since). <paramref name="c"/> is the caller's just-saved case;
    /// <see cref="ConfirmAsync"/> re-reads it, so a change made meanwhile still wins.
    /// </summary>
    public async Task CheckNowAsync(CaseRecord c, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.Verification != Awaiting || c.State != CaseStates.Fixed) return;
        List<EventRecord> recent;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            recent = await db.Events.AsNoTracking()
                .Where(e => e.Kind == SceneChange && e.CameraId == c.VerifyCameraId && e.Zone == c.VerifyZone && e.At >= c.OpenedAt && (e.Phase == "start" || e.Detail == Cleared))
                .OrderByDescending(e => e.At).Take(20).ToListAsync(ct);
        }

        // The newest first: a change that started after the last clearing is still there.
        foreach (var e in recent)
        {
            if (e.Phase == "start") return;
            if (await ConcernsAsync(c.Id, e, ct))
            {
                await ConfirmAsync(c.Id, e, ct);
                return;
            }
        }
    }

    /// <summary>
    /// Closes one case through the case service (its rules, history, notices and audit record in one transaction);
    /// an operator's concurrent change to it wins and leaves the others to confirm. The service is resolved here,
    /// not injected: it asks this verifier which camera watches a fix.
    /// </summary>
    private async Task ConfirmAsync(long caseId, EventRecord e, CancellationToken ct)
    {
        var seen = $"camera {e.CameraId} saw zone {e.Zone} clear at {DateTimeOffset.FromUnixTimeMilliseconds(e.At):u} (event {e.Id})";
        await services.GetRequiredService<CaseService>().ConfirmByCameraAsync(caseId, seen, ct);
    }
}
