using CivicLens.Rules.Configuration;

namespace CivicLens.Rules;

public enum SignalState
{
    Unknown,
    Green,
    Red,
}

/// <summary>A signal's state at a moment, and since when it has held that state (for grace periods).</summary>
public readonly record struct SignalReading(SignalState State, TimeSpan? HeldFor);

/// <summary>
/// The current state of every configured signal. Scheduled signals are computed from their cycle; external ones
/// are pushed with <see cref="Set"/> (a controller feed, MQTT, the API) and become <see cref="SignalState.Unknown"/>
/// when not updated within their <see cref="SignalConfig.MaxAge"/>. Thread-safe: feeds write, camera loops read.
/// </summary>
public sealed class SignalBoard
{
    private readonly Dictionary<string, SignalConfig> _signals;
    private readonly Dictionary<string, External> _external = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public SignalBoard(IEnumerable<SignalConfig> signals, TimeZoneInfo? timeZone = null)
    {
        _signals = signals.ToDictionary(s => s.Id, StringComparer.Ordinal);
        _zone = timeZone ?? TimeZoneInfo.Utc;
    }

    private readonly TimeZoneInfo _zone;

    private sealed record External(SignalState State, DateTimeOffset UpdatedAt, DateTimeOffset Since);

    public bool Contains(string id) => _signals.ContainsKey(id);

    /// <summary>Records an external signal's state as reported at <paramref name="at"/>.</summary>
    public void Set(string id, SignalState state, DateTimeOffset at)
    {
        if (!_signals.TryGetValue(id, out var config)) throw new ArgumentException($"Unknown signal '{id}'.", nameof(id));
        if (!config.IsExternal) throw new ArgumentException($"Signal '{id}' follows a schedule; it cannot be set from outside.", nameof(id));
        lock (_lock)
        {
            var since = _external.TryGetValue(id, out var old) && old.State == state ? old.Since : at;
            _external[id] = new External(state, at, since);
        }
    }

    /// <summary>
    /// The state of <paramref name="id"/> at a moment: scheduled signals use <paramref name="streamTime"/> (cycle offsets
    /// count from the stream start) or, with <c>clock: wall</c>, the local time of <paramref name="at"/>; external ones
    /// compare their last update with <paramref name="at"/>.
    /// </summary>
    public SignalReading Read(string id, TimeSpan streamTime, DateTimeOffset at)
    {
        var config = _signals[id];
        if (config.Cycle is { } cycle)
        {
            var clock = config.WallClock ? TimeZoneInfo.ConvertTime(at, _zone).TimeOfDay : streamTime;
            var phase = TimeSpan.FromTicks(((clock - config.Offset).Ticks % cycle.Ticks + cycle.Ticks) % cycle.Ticks);
            foreach (var (from, to) in config.Red)
            {
                if (phase >= from && phase < to) return new SignalReading(SignalState.Red, phase - from);
            }

            // Green since the end of the last red window (or since the cycle's end, wrapping).
            var lastRedEnd = config.Red.Where(r => r.To <= phase).Select(r => r.To).DefaultIfEmpty(config.Red.Max(r => r.To) - cycle).Max();
            return new SignalReading(SignalState.Green, phase - lastRedEnd);
        }

        lock (_lock)
        {
            if (!_external.TryGetValue(id, out var e) || at - e.UpdatedAt > config.MaxAge) return new SignalReading(SignalState.Unknown, null);
            return new SignalReading(e.State, at - e.Since);
        }
    }
}
