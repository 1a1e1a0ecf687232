using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CivicLens.Pipeline.Output;
using CivicLens.Storage.Entities;

namespace CivicLens.Server.Ingest;

/// <summary>
/// The pipeline's events on disk until the store has committed them: each batch is appended and fsynced before
/// the pipeline goes on, and a checkpoint records how far the store has committed. A crash or a database that is
/// gone for a minute loses nothing; replaying the tail is harmless because event ids are idempotent.
/// Besides events it keeps other cameras' views of them (site evidence) as the pipeline's own <c>evidence</c>
/// lines (<see cref="JournalView"/>); a view may come before its event (another node) and is kept all the same.
/// </summary>
public sealed class EventJournal : IRuleEventSink, IDisposable
{
    private readonly string _path;
    private readonly string _checkpointPath;
    private readonly Func<EvidencedEvent, EventRecord?> _map;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly FileStream _file;

    public EventJournal(string directory, Func<EvidencedEvent, EventRecord?> map)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "events.jsonl");
        _checkpointPath = Path.Combine(directory, "committed");
        _map = map;
        _file = Open();
        // A torn last line (crash mid-write) is cut off: its batch was never acknowledged to the pipeline.
        TrimTornTail();
    }

    /// <summary>Appended but not yet committed, in bytes.</summary>
    public long Backlog
    {
        get
        {
            lock (_gate) return _file.Length - ReadCheckpoint();
        }
    }

    public ValueTask OnEventsAsync(IReadOnlyList<EvidencedEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var buffer = new MemoryStream();
        foreach (var e in events)
        {
            if (_map(e) is not { } record) continue;
            JsonSerializer.Serialize(buffer, record, JournalJson.Options);
            buffer.WriteByte((byte)'\n');
        }

        Append(buffer);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnViewsAsync(IReadOnlyList<SiteView> views, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(views);
        var buffer = new MemoryStream();
        foreach (var v in views)
        {
            JsonSerializer.Serialize(buffer, JournalView.From(v), JournalJson.Options);
            buffer.WriteByte((byte)'\n');
        }

        Append(buffer);
        return ValueTask.CompletedTask;
    }

    private void Append(MemoryStream buffer)
    {
        if (buffer.Length == 0) return;
        lock (_gate)
        {
            _file.Seek(0, SeekOrigin.End);
            _file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            _file.Flush(flushToDisk: true);
        }

        _signal.Release();
    }

    /// <summary>Up to <paramref name="max"/> uncommitted lines as written (a node sends them to a hub) and the offset to commit.</summary>
    public (List<string> Lines, long End) ReadPendingLines(int max)
    {
        lock (_gate)
        {
            var start = ReadCheckpoint();
            var lines = new List<string>();
            if (start >= _file.Length) return (lines, start);
            using var reader = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            reader.Seek(start, SeekOrigin.Begin);
            var end = start;
            using var text = new StreamReader(reader, Encoding.UTF8, false, 64 * 1024, leaveOpen: true);
            while (lines.Count < max && text.ReadLine() is { } line)
            {
                end += Encoding.UTF8.GetByteCount(line) + 1;
                if (line.Length > 0) lines.Add(line);
            }

            return (lines, end);
        }
    }

    /// <summary>One journal line as its event (what a hub does with the lines a node sends); see <see cref="Parse"/> for views.</summary>
    public static EventRecord ParseLine(string line) =>
        JsonSerializer.Deserialize<EventRecord>(line, JournalJson.Options) ?? throw new JsonException("An empty event line.");

    /// <summary>One journal line: an event, or another camera's view of one.</summary>
    public static JournalEntry Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        // Views are written by this class with "type" first; event lines are EventRecords, which have no such member.
        if (!line.StartsWith(JournalView.Prefix, StringComparison.Ordinal)) return new JournalEntry(ParseLine(line), null);
        return new JournalEntry(null, JsonSerializer.Deserialize<JournalView>(line, JournalJson.Options) ?? throw new JsonException("An empty evidence line."));
    }

    /// <summary>Waits until something was appended or the timeout passes.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);

    /// <summary>Up to <paramref name="max"/> uncommitted events (views left out) and the offset to commit once they are stored.</summary>
    public (List<EventRecord> Events, long End) ReadPending(int max)
    {
        var (events, _, end) = ReadPendingBatch(max);
        return (events, end);
    }

    /// <summary>Up to <paramref name="max"/> uncommitted lines as events and views, and the offset to commit once both are stored.</summary>
    public (List<EventRecord> Events, List<JournalView> Views, long End) ReadPendingBatch(int max)
    {
        var (lines, end) = ReadPendingLines(max);
        var events = new List<EventRecord>(lines.Count);
        var views = new List<JournalView>();
        foreach (var line in lines)
        {
            var entry = Parse(line);
            if (entry.Event is { } e) events.Add(e);
            else views.Add(entry.View!);
        }

        return (events, views, end);
    }

    /// <summary>Records that everything before <paramref name="end"/> is committed; an empty journal starts over.</summary>
    public void Commit(long end)
    {
        lock (_gate)
        {
            if (end >= _file.Length)
            {
                _file.SetLength(0);
                _file.Flush(flushToDisk: true);
                WriteCheckpoint(0);
            }
            else
            {
                WriteCheckpoint(end);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
        _signal.Dispose();
    }

    private FileStream Open() => new(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);

    private long ReadCheckpoint()
    {
        if (!File.Exists(_checkpointPath)) return 0;
        return long.TryParse(File.ReadAllText(_checkpointPath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? Math.Min(v, _file.Length) : 0;
    }

    private void WriteCheckpoint(long offset)
    {
        var tmp = _checkpointPath + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            f.Write(Encoding.ASCII.GetBytes(offset.ToString(CultureInfo.InvariantCulture)));
            f.Flush(flushToDisk: true);
        }

        File.Move(tmp, _checkpointPath, overwrite: true);
    }

    private void TrimTornTail()
    {
        if (_file.Length == 0) return;
        _file.Seek(-1, SeekOrigin.End);
        if (_file.ReadByte() == '\n') return;
        // Walk back to the last complete line.
        var pos = _file.Length - 1;
        while (pos > 0)
        {
            _file.Seek(pos - 1, SeekOrigin.Begin);
            if (_file.ReadByte() == '\n') break;
            pos--;
        }

        _file.SetLength(pos);
        _file.Flush(flushToDisk: true);
    }
}

/// <summary>A journal line: exactly one of an event or a view.</summary>
public sealed record JournalEntry(EventRecord? Event, JournalView? View)
{
    /// <summary>The evidence file the line names, if any.</summary>
    public string? Snapshot => Event?.Snapshot ?? View?.Snapshot;
}

/// <summary>
/// Another camera's view of an event, in the journal as the pipeline writes it in its JSON lines
/// (<c>{"type":"evidence","event":…,"kind":…,"camera":…,"from_camera":…,"t":…,"at":…,"snapshot":…}</c>).
/// </summary>
public sealed record JournalView(
    [property: JsonPropertyName("event")] Guid Event,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("camera")] string Camera,
    [property: JsonPropertyName("from_camera")] string FromCamera,
    [property: JsonPropertyName("t")] double T,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("snapshot")] string Snapshot)
{
    internal const string Prefix = "{\"type\":\"evidence\"";

    [JsonPropertyName("type")]
    [JsonPropertyOrder(-1)]
    public string Type { get; init; } = "evidence";

    public static JournalView From(SiteView v) =>
        new(v.EventId, v.Kind, v.Camera, v.FromCamera, Math.Round(v.StreamTime.TotalSeconds, 3), v.At, v.Snapshot);
}

internal static class JournalJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General);
}
