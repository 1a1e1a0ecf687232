namespace CivicLens.Domain.Frames;

/// <summary>
/// A camera or file that yields decoded frames. Implementations supervise their decoder, reconnect
/// live sources with backoff, and report health through <see cref="HealthChanged"/>.
/// </summary>
public interface IFrameSource : IAsyncDisposable
{
    /// <summary>The source as the operator named it; never the URL (it may carry credentials).</summary>
    string Name { get; }

    /// <summary>
    /// True when frames arrive at the source's own pace (cameras): a consumer that falls behind loses frames.
    /// False for files, looped or not: frames wait for the consumer and none is dropped.
    /// </summary>
    bool IsLive { get; }

    /// <summary>
    /// Reads the next frame. Returns null at the end of a finite source or when cancelled.
    /// Throws <see cref="FrameSourceException"/> when the source cannot be read at all
    /// (missing file, not a video, bad URL) or a live source gave up reconnecting.
    /// </summary>
    ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Frames decoded but thrown away because no pooled buffer was free (live sources only).</summary>
    long DroppedFrames { get; }

    event Action<SourceHealth>? HealthChanged;
}

public enum SourceState
{
    Starting,
    Streaming,
    Reconnecting,
    Ended,
    Failed,
}

/// <summary>A health transition of a source; <see cref="Reason"/> is safe to log (no URLs).</summary>
public sealed record SourceHealth(string SourceName, SourceState State, DateTimeOffset At, string? Reason, int? Width = null, int? Height = null);

/// <summary>A source problem with a message an operator can act on.</summary>
public sealed class FrameSourceException : Exception
{
    public FrameSourceException(string message) : base(message) { }
    public FrameSourceException(string message, Exception inner) : base(message, inner) { }
    public FrameSourceException() { }
}
