using System.Globalization;
using System.Text.Json;

namespace CivicLens.Privacy.Retention;

/// <summary>A legal hold: evidence of these events is kept past its retention until the hold expires.</summary>
public sealed record LegalHold(string CaseReference, DateTimeOffset Expires, IReadOnlyList<Guid> Events);

/// <summary>What a purge did.</summary>
public sealed record PurgeResult(int Deleted, int Held, int Kept);

/// <summary>
/// Enforces the retention of redacted evidence snapshots in a folder: files older than the retention are deleted,
/// unless a legal hold (a case reference and an expiry) names their event; a hold is the only override and ends on its
/// own. The server keeps its holds in the store and passes what they keep (<see cref="HeldEvents"/>,
/// <see cref="HeldSpans"/>); a standalone analysis reads <c>legal-holds.json</c> beside the snapshots (the server
/// imports such a file once). Times come from the <see cref="TimeProvider"/>.
/// </summary>
public sealed class EvidenceRetention
{
    public const string HoldsFile = "legal-holds.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _directory;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;

    public EvidenceRetention(string directory, TimeSpan retention, TimeProvider time)
    {
        if (retention <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(retention), "Retention must be positive.");
        _directory = directory;
        _retention = retention;
        _time = time;
    }

    /// <summary>Only files whose names start with this (one camera's evidence in a shared folder); null: every file.</summary>
    public string? FilePrefix { get; init; }

    /// <summary>Events whose evidence is held (besides those the holds file names).</summary>
    public IReadOnlyCollection<Guid> HeldEvents { get; init; } = [];

    /// <summary>
    /// File names held whatever event their name carries: another camera's view serves every event it was taken for,
    /// but is named after the first.
    /// </summary>
    public IReadOnlySet<string> HeldFiles { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Time spans (of this camera: see <see cref="FilePrefix"/>) whose evidence files are all held, by the file's time.</summary>
    public IReadOnlyList<(DateTimeOffset From, DateTimeOffset To)> HeldSpans { get; init; } = [];

    public IReadOnlyList<LegalHold> Holds()
    {
        var path = Path.Combine(_directory, HoldsFile);
        if (!File.Exists(path)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<LegalHold>>(File.ReadAllBytes(path), Json) ?? [];
        }
        catch (JsonException ex)
        {
            // An unreadable hold list must not let held evidence be deleted: refuse to purge at all.
            throw new InvalidDataException($"The legal holds in {path} cannot be read ({ex.Message}); nothing is purged until they are fixed.", ex);
        }
    }

    /// <summary>Places a hold (written atomically); a hold needs a case reference and an expiry in the future.</summary>
    public void Hold(LegalHold hold)
    {
        ArgumentNullException.ThrowIfNull(hold);
        if (string.IsNullOrWhiteSpace(hold.CaseReference)) throw new ArgumentException("A legal hold needs a case reference.", nameof(hold));
        if (hold.Expires <= _time.GetUtcNow()) throw new ArgumentException("A legal hold needs an expiry in the future.", nameof(hold));
        var holds = Holds().Append(hold).ToList();
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, HoldsFile);
        File.WriteAllBytes(path + ".tmp", JsonSerializer.SerializeToUtf8Bytes(holds, Json));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Deletes every snapshot older than the retention that no live hold names.</summary>
    public PurgeResult Purge()
    {
        if (!Directory.Exists(_directory)) return new PurgeResult(0, 0, 0);
        var now = _time.GetUtcNow();
        var held = Holds().Where(h => h.Expires > now).SelectMany(h => h.Events).Concat(HeldEvents).Select(e => e.ToString("N")[..8]).ToHashSet(StringComparer.Ordinal);
        int deleted = 0, heldCount = 0, kept = 0;
        foreach (var file in Directory.EnumerateFiles(_directory, (FilePrefix ?? "") + "*.jpg"))
        {
            var written = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
            if (now - written < _retention)
            {
                kept++;
                continue;
            }

            if ((EventPrefix(file) is { } prefix && held.Contains(prefix)) || HeldFiles.Contains(Path.GetFileName(file))
                || HeldSpans.Any(s => written >= s.From && written <= s.To))
            {
                heldCount++;
                continue;
            }

            try
            {
                File.Delete(file);
                deleted++;
            }
            catch (IOException)
            {
                kept++; // tried again at the next purge
            }
        }

        return new PurgeResult(deleted, heldCount, kept);
    }

    /// <summary>Snapshot names end in the event id's first 8 hex digits: <c>camera-0000123-1a2b3c4d[-site].jpg</c>.</summary>
    private static string? EventPrefix(string file)
    {
        var parts = Path.GetFileNameWithoutExtension(file).Split('-');
        foreach (var part in parts.Reverse())
        {
            if (part.Length == 8 && uint.TryParse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _))
            {
                return part;
            }
        }

        return null;
    }
}
