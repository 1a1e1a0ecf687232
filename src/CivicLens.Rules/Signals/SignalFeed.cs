using System.Text.Json;

namespace CivicLens.Rules;

/// <summary>
/// Reads external signal states as JSON lines, e.g. from a traffic controller bridge writing to a FIFO:
/// <c>{"signal":"ped-light-4","state":"red","at":"2026-11-23T08:00:00Z"}</c> (<c>at</c> optional: the time read).
/// A bad line is reported and skipped, never guessed at; a feed that goes quiet makes the signal unknown after its
/// <c>max_age</c>, and rules reading it report themselves degraded.
/// </summary>
public sealed class SignalFeed
{
    private readonly SignalBoard _board;
    private readonly TimeProvider _time;

    public SignalFeed(SignalBoard board, TimeProvider time)
    {
        _board = board;
        _time = time;
    }

    /// <summary>Lines that could not be used (malformed, unknown signal, unknown state).</summary>
    public long Rejected { get; private set; }

    /// <summary>Applies one line; returns null when it was used, else why it was rejected.</summary>
    public string? Apply(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (string.IsNullOrWhiteSpace(line)) return null;
        string? problem;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var id = root.TryGetProperty("signal", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var stateText = root.TryGetProperty("state", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString() : null;
            var at = root.TryGetProperty("at", out var a) && a.ValueKind == JsonValueKind.String && a.TryGetDateTimeOffset(out var parsed)
                ? parsed
                : _time.GetUtcNow();
            if (id is null || !_board.Contains(id)) problem = $"unknown signal '{id}'";
            else if (stateText is not ("red" or "green")) problem = $"state must be red or green, not '{stateText}'";
            else
            {
                _board.Set(id, stateText == "red" ? SignalState.Red : SignalState.Green, at);
                return null;
            }
        }
        catch (JsonException ex)
        {
            problem = "not JSON: " + ex.Message;
        }
        catch (ArgumentException ex)
        {
            problem = ex.Message;
        }

        Rejected++;
        return problem;
    }

    /// <summary>Applies every line until the reader ends or the run is cancelled; rejections go to <paramref name="onRejected"/>.</summary>
    public async Task RunAsync(TextReader reader, Action<string> onRejected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(onRejected);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (Apply(line) is { } problem) onRejected(problem);
        }
    }
}
