namespace CivicLens.Media;

/// <summary>Settings of one decoded source (a camera or a file).</summary>
public sealed record FrameSourceOptions
{
    /// <summary>The camera's name in logs and events; never the URL.</summary>
    public required string Name { get; init; }

    /// <summary>A file path, or an rtsp://, rtsps://, http:// or https:// URL.</summary>
    public required string Uri { get; init; }

    /// <summary>Frames per second to deliver; null delivers every decoded frame.</summary>
    public double? SampleFps { get; init; }

    /// <summary>Output width in pixels; null keeps the source's. With only a width, the aspect ratio is kept.</summary>
    public int? OutputWidth { get; init; }

    public int? OutputHeight { get; init; }

    /// <summary>Preallocated frames per source. A live source with none free drops the new frame.</summary>
    public int PoolCapacity { get; init; } = 8;

    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Reconnect attempts in a row before a live source is declared failed; null retries forever.</summary>
    public int? MaxReconnectAttempts { get; init; }

    /// <summary>A live source that delivers no frame for this long is restarted (a hung camera, not only a dead one).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Play a file again and again (soak tests and benchmarks); frames still wait for the consumer.</summary>
    public bool Loop { get; init; }

    /// <summary>Read a file at its native frame rate and treat it as a live camera: frames the consumer cannot take are dropped.</summary>
    public bool Realtime { get; init; }
}
