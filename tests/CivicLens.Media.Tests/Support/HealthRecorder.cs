using CivicLens.Domain.Frames;
using CivicLens.TestSupport;

namespace CivicLens.Media.Tests.Support;

/// <summary>Records a source's health transitions; safe to read while the source reports from another thread.</summary>
public sealed class HealthRecorder
{
    private readonly List<SourceHealth> _events = [];

    public HealthRecorder(IFrameSource source) => source.HealthChanged += Record;

    public IReadOnlyList<SourceHealth> Events
    {
        get
        {
            lock (_events) return [.. _events];
        }
    }

    public int Count
    {
        get
        {
            lock (_events) return _events.Count;
        }
    }

    public SourceState? Last
    {
        get
        {
            lock (_events) return _events.Count == 0 ? null : _events[^1].State;
        }
    }

    /// <summary>Whether a transition to <paramref name="state"/> was reported at or after index <paramref name="from"/>.</summary>
    public bool Saw(SourceState state, int from = 0) => Since(from).Any(e => e.State == state);

    public IReadOnlyList<SourceHealth> Since(int from)
    {
        lock (_events) return _events.Skip(from).ToList();
    }

    /// <summary>The states in order, e.g. "Starting Streaming Ended", for assertion messages.</summary>
    public string Describe()
    {
        lock (_events) return string.Join(" -> ", _events.Select(e => e.Reason is null ? $"{e.State}" : $"{e.State} ({e.Reason})"));
    }

    /// <summary>Waits on a condition; a timeout names what was awaited and the health history at that moment.</summary>
    public async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string awaited)
    {
        try
        {
            await Eventually.TrueAsync(condition, timeout, awaited);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}. Health so far: {Describe()}", ex);
        }
    }

    private void Record(SourceHealth health)
    {
        lock (_events) _events.Add(health);
    }
}
