using System.Collections.Concurrent;
using System.Security.Claims;
using CivicLens.Pipeline;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Security;
using CivicLens.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

/// <summary>
/// A camera's redacted live view: the newest frame its pipeline redacted exactly like stored evidence, kept in memory
/// at most once a second and only while someone watches. For the roles that may see snapshots, in their areas; and
/// the scene frame the zone editor draws on, for those who configure.
/// </summary>
public static class LiveViewEndpoints
{
    /// <summary>How long a request waits for the pipeline's first frame after someone starts watching.</summary>
    private static readonly TimeSpan FirstFrameWait = TimeSpan.FromSeconds(5);

    public static void MapLiveView(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cameras/{id}/live.jpg", LiveAsync).WithTags("registry").RequireAuthorization(Policies.ReadEvents)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg").ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // The zone editor's background for those who configure and see no footage: the scene with every detected
        // person and vehicle masked whole (on top of the usual redaction), never an event, never a recording.
        app.MapGet("/api/cameras/{id}/scene.jpg", SceneAsync).WithTags("registry").RequireAuthorization(Policies.Configure)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg").ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static Task<Results<FileContentHttpResult, ProblemHttpResult>> LiveAsync(string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRuntimes runtimes, LiveViewAudit throttle, Auditor audit, CancellationToken ct) => FrameAsync(id, p, dbs, runtimes, throttle, audit, scene: false, ct);

    private static Task<Results<FileContentHttpResult, ProblemHttpResult>> SceneAsync(string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRuntimes runtimes, LiveViewAudit throttle, Auditor audit, CancellationToken ct) => FrameAsync(id, p, dbs, runtimes, throttle, audit, scene: true, ct);

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> FrameAsync(string id, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        CameraRuntimes runtimes, LiveViewAudit throttle, Auditor audit, bool scene, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using (var db = await dbs.CreateDbContextAsync(ct))
        {
            var area = await db.Cameras.AsNoTracking().Where(c => c.Id == id).Select(c => c.AreaId).FirstOrDefaultAsync(ct);
            if (area is null || !user.Sees(area)) return ApiProblems.NotFound("camera");
        }

        if (runtimes.Find(id) is not { } runtime) return TypedResults.Problem(title: "Not found", detail: "The camera is not running on this server.", statusCode: StatusCodes.Status404NotFound);
        // A sensitive view: audited before the first frame is sent, then at most once per user and camera per window.
        if (throttle.Due(user.Id, (scene ? "scene:" : "") + id)) await audit.RecordAsync(scene ? "scene.view" : "live.view", "ok", "camera:" + id);
        var frame = scene ? await runtime.LatestSceneAsync(FirstFrameWait, ct) : await runtime.LatestAsync(FirstFrameWait, ct);
        return frame is null
            ? ApiProblems.Unavailable("The camera has no frame to show yet (starting, or offline).")
            : TypedResults.File(frame.Jpeg, "image/jpeg", lastModified: frame.At);
    }
}

/// <summary>Remembers when each user's watching of each camera was last audited, so a 1 fps view is one audit line per window, not 3,600 an hour.</summary>
public sealed class LiveViewAudit(TimeProvider time)
{
    private readonly ConcurrentDictionary<(long User, string Camera), DateTimeOffset> _last = new();

    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>True (and the window restarts) when this user's view of this camera has not been audited within the window.</summary>
    public bool Due(long user, string camera)
    {
        var now = time.GetUtcNow();
        if (_last.Count > 10_000)
        {
            foreach (var (key, at) in _last)
            {
                if (now - at >= Window) _last.TryRemove(key, out _);
            }
        }

        var due = false;
        _last.AddOrUpdate((user, camera), _ => { due = true; return now; }, (_, at) =>
        {
            if (now - at < Window) return at;
            due = true;
            return now;
        });
        return due;
    }
}

/// <summary>
/// A running camera's load over the last few seconds: frames analysed per second, frames dropped (total, and the
/// share of recent frames lost because analysis fell behind), and its share of the shared detector's time (0..1;
/// the cameras of a node sum to the detector's utilisation).
/// </summary>
public sealed record CameraLoadView(bool Running, double FramesPerSecond, long FramesAnalysed, long FramesDropped, double DropRate, double DetectorLoad);

public static class CameraLoadViews
{
    /// <summary>The view with its pipeline's load when the camera runs in this process.</summary>
    public static CameraView WithLoad(this CameraView view, CameraRuntimes runtimes)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(runtimes);
        if (runtimes.Find(view.Id) is not { } runtime) return view;
        var load = runtime.Load();
        return view with { Load = new CameraLoadView(true, load.FramesPerSecond, load.FramesAnalysed, load.FramesDropped, load.DropRate, load.DetectorLoad) };
    }
}
