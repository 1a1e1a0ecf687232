namespace CivicLens.Domain.Cameras;

/// <summary>
/// Where a registered camera stands, as operators see it. A dead stream is <see cref="Offline"/>, never
/// <see cref="Failed"/>; <see cref="Failed"/> means CivicLens itself could not run the camera (its rules, a model,
/// the disk) and is retrying.
/// </summary>
public enum CameraState
{
    /// <summary>Frames flow and are analysed.</summary>
    Streaming,

    /// <summary>Enabled; its analysis is starting (or waiting for its first frame).</summary>
    Starting,

    /// <summary>The stream dropped and is being reconnected; not yet long enough to call it offline.</summary>
    Reconnecting,

    /// <summary>No frames for longer than the camera's offline threshold, or the stream cannot be opened.</summary>
    Offline,

    /// <summary>Frames flow but the view is covered, moved or out of focus.</summary>
    Tamper,

    /// <summary>The camera's analysis threw; it is retried with backoff.</summary>
    Failed,

    /// <summary>Switched off by an operator (or never enabled): nothing runs.</summary>
    Disabled,

    /// <summary>Enabled but no stream address is registered.</summary>
    NoSource,

    /// <summary>Taken out of service for good; kept for its events and the transparency register's history.</summary>
    Retired,

    /// <summary>In a cluster: its node died, hung or is being drained, and the camera is being started on another node.</summary>
    Moving,
}

/// <summary>The wire names of <see cref="CameraState"/> (API, store, metrics).</summary>
public static class CameraStates
{
    private static readonly string[] Names = ["streaming", "starting", "reconnecting", "offline", "tamper", "failed", "disabled", "no-source", "retired", "moving"];

    public static IReadOnlyList<string> All => Names;

    public static string Name(this CameraState state) => Names[(int)state];

    public static bool TryParse(string? name, out CameraState state)
    {
        var i = name is null ? -1 : Array.IndexOf(Names, name);
        state = i < 0 ? default : (CameraState)i;
        return i >= 0;
    }
}

/// <summary>A camera's state, since when, and why (plain words; never a stream URL).</summary>
public readonly record struct CameraStatus(CameraState State, DateTimeOffset Since, string? Reason);

/// <summary>
/// Purpose before power: a camera may run only with a recorded purpose, a legal basis, a responsible department
/// and a retention for its evidence.
/// </summary>
public static class CameraAccountability
{
    /// <summary>What is missing, as (field, what) pairs in the API's field names; empty when the camera may run.</summary>
    public static IReadOnlyList<(string Field, string What)> Missing(string? purpose, string? legalBasis, string? department, int retentionDays)
    {
        var missing = new List<(string, string)>(4);
        if (string.IsNullOrWhiteSpace(purpose)) missing.Add(("purpose", "a recorded purpose"));
        if (string.IsNullOrWhiteSpace(legalBasis)) missing.Add(("legalBasis", "a legal basis"));
        if (string.IsNullOrWhiteSpace(department)) missing.Add(("department", "a responsible department"));
        if (retentionDays <= 0) missing.Add(("retentionDays", "a retention period for its evidence"));
        return missing;
    }
}
