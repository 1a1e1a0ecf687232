using System.Text.Json;

namespace CivicLens.Privacy.Sealed;

/// <summary>One reveal-related action: who, what, for which case and why, and whether it was allowed.</summary>
public sealed record RevealAuditRecord(DateTimeOffset At, string Action, Guid EventId, string User, string? CaseReference, string? Reason, bool Allowed, string Outcome);

/// <summary>Receives every reveal request, approval, opening, refusal and destruction.</summary>
public interface IRevealAudit
{
    void Record(RevealAuditRecord record);
}

/// <summary>
/// An append-only JSON-lines audit file, flushed to disk per record. (The server's hash-chained audit log takes these
/// records too; this file is what the analysis tools write on their own.)
/// </summary>
public sealed class JsonLinesRevealAudit : IRevealAudit
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _path;
    private readonly Lock _lock = new();

    public JsonLinesRevealAudit(string path)
    {
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    public void Record(RevealAuditRecord record)
    {
        var line = JsonSerializer.Serialize(record, Json) + "\n";
        lock (_lock)
        {
            using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
            stream.Write(System.Text.Encoding.UTF8.GetBytes(line));
            stream.Flush(flushToDisk: true);
        }
    }

    public IReadOnlyList<RevealAuditRecord> ReadAll() =>
        File.Exists(_path)
            ? File.ReadAllLines(_path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<RevealAuditRecord>(l, Json)!).ToList()
            : [];
}
