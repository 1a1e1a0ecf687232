using System.Collections.Concurrent;

namespace CivicLens.Domain.Frames;

/// <summary>
/// A fixed ring of preallocated frames of one size. When every frame is in use, <see cref="TryRent"/>
/// fails and the caller drops the incoming frame (live sources) rather than allocating.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001",
    Justification = "SemaphoreSlim holds no OS handle unless AvailableWaitHandle is used, which it never is here.")]
public sealed class FramePool
{
    private readonly ConcurrentBag<Frame> _free = new();
    private readonly SemaphoreSlim _available;

    public FramePool(int width, int height, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Width = width;
        Height = height;
        Capacity = capacity;
        _available = new SemaphoreSlim(capacity, capacity);
        for (var i = 0; i < capacity; i++)
        {
            _free.Add(new Frame(this, width, height));
        }
    }

    public int Width { get; }
    public int Height { get; }
    public int Capacity { get; }
    public int Available => _free.Count;
    public int FrameBytes => Width * Height * 3;

    public bool TryRent(out Frame frame)
    {
        if (_available.Wait(0))
        {
            frame = Take();
            return true;
        }

        frame = null!;
        return false;
    }

    /// <summary>Waits for a free frame: finite sources apply backpressure instead of dropping.</summary>
    public async ValueTask<Frame> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken);
        return Take();
    }

    private Frame Take()
    {
        // The semaphore counts free frames, so the bag cannot be empty here.
        if (!_free.TryTake(out var f)) throw new InvalidOperationException("Frame pool accounting is broken.");
        f.MarkRented();
        return f;
    }

    internal void Return(Frame frame)
    {
        _free.Add(frame);
        _available.Release();
    }
}
