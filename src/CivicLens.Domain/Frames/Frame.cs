namespace CivicLens.Domain.Frames;

/// <summary>
/// One decoded RGB24 frame in a pooled buffer. Frames are owned by a <see cref="FramePool"/>:
/// whoever holds one last calls <see cref="Release"/> so the buffer goes back into the ring.
/// Nothing on the frame path allocates per frame; only this handle travels through channels.
/// </summary>
public sealed class Frame
{
    private readonly FramePool? _owner;
    private int _references;

    internal Frame(FramePool? owner, int width, int height)
    {
        _owner = owner;
        Width = width;
        Height = height;
        Pixels = new byte[checked(width * height * 3)];
    }

    /// <summary>Creates a frame that belongs to no pool (tests, stills).</summary>
    public static Frame CreateDetached(int width, int height) => new(null, width, height);

    public int Width { get; }
    public int Height { get; }
    public int Stride => Width * 3;

    /// <summary>Tightly packed RGB24 rows, top to bottom.</summary>
    public byte[] Pixels { get; }

    public Span<byte> Span => Pixels.AsSpan();

    /// <summary>Index of this frame within its source (0-based, counts sampled frames).</summary>
    public long Sequence { get; set; }

    /// <summary>Position in the stream: media time for files, time since the source started for live streams.</summary>
    public TimeSpan StreamTime { get; set; }

    /// <summary>Wall-clock capture time (UTC), from the pipeline's TimeProvider.</summary>
    public DateTimeOffset CapturedAt { get; set; }

    /// <summary>Adds a holder (e.g. a snapshot writer keeps the frame after detection finished).</summary>
    public void AddReference() => Interlocked.Increment(ref _references);

    /// <summary>Drops one holder; the last one returns the buffer to its pool.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            _owner?.Return(this);
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("Frame released more often than it was acquired.");
        }
    }

    internal void MarkRented() => Volatile.Write(ref _references, 1);
}
