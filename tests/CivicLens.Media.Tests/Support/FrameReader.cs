using CivicLens.Domain.Frames;

namespace CivicLens.Media.Tests.Support;

/// <summary>Reads a live source on a background task, as the pipeline does, releasing every frame at once.</summary>
public sealed class FrameReader : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly IFrameSource _source;
    private Task _loop = Task.CompletedTask;
    private long _count;
    private long _lastSequence = -1;
    private TimeSpan _lastTime = TimeSpan.MinValue;
    private bool _disposed;

    private FrameReader(IFrameSource source) => _source = source;

    public static FrameReader Start(IFrameSource source)
    {
        var reader = new FrameReader(source);
        reader._loop = Task.Run(reader.RunAsync);
        return reader;
    }

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Whether every frame came with a higher sequence number and a later stream time than the one before.</summary>
    public bool InOrder { get; private set; } = true;

    /// <summary>What ended the reading other than <see cref="DisposeAsync"/>, if anything.</summary>
    public Exception? Error { get; private set; }

    private async Task RunAsync()
    {
        try
        {
            while (await _source.ReadAsync(_stop.Token) is { } frame)
            {
                if (frame.Sequence <= _lastSequence || frame.StreamTime < _lastTime) InOrder = false;
                _lastSequence = frame.Sequence;
                _lastTime = frame.StreamTime;
                frame.Release();
                Interlocked.Increment(ref _count);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Error = ex;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
