using System.Globalization;
using System.Text;
using CivicLens.Domain.Geometry;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Scene;

/// <summary>A scene-change incident's clean reference as kept on disk: enough to confirm its zone clear later.</summary>
internal sealed record IncidentReference(Guid Incident, DateTimeOffset Since, BoxF Box, float Confidence, ZonePatch Patch);

/// <summary>
/// One scene-change rule's kept references, one small file per incident:
/// <c>{state}/{camera}/{rule}-{incident}.zref</c> (grey cells of the zone, no pixels; a few kilobytes). Written
/// atomically when the incident opens, deleted when the zone is confirmed clear, when the reference outlives the
/// retention, or when the zone it was taken of has been redrawn (the cells no longer mean the same place).
/// </summary>
internal sealed class IncidentReferenceStore
{
    /// <summary>"CLZR".</summary>
    private const int Magic = 0x525A4C43;

    private const int Version = 1;

    private readonly string _folder;
    private readonly string _prefix;
    private readonly string _zoneKey;

    public IncidentReferenceStore(RuleStateSettings settings, string camera, string rule, Polygon zone, int width, int height)
    {
        Retention = settings.Retention;
        _folder = Path.Combine(settings.Directory, SafeName(camera));
        _prefix = SafeName(rule) + "-";
        var key = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{width}x{height}");
        foreach (var p in zone.Points) key.Append(CultureInfo.InvariantCulture, $";{p.X:R},{p.Y:R}");
        _zoneKey = key.ToString();
    }

    public TimeSpan Retention { get; }

    public string PathOf(Guid incident) => Path.Combine(_folder, $"{_prefix}{incident:N}.zref");

    public void Save(IncidentReference reference)
    {
        Directory.CreateDirectory(_folder);
        var path = PathOf(reference.Incident);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(_zoneKey);
            writer.Write(reference.Incident.ToByteArray());
            writer.Write(reference.Since.ToUnixTimeMilliseconds());
            writer.Write(reference.Box.X);
            writer.Write(reference.Box.Y);
            writer.Write(reference.Box.Width);
            writer.Write(reference.Box.Height);
            writer.Write(reference.Confidence);
            reference.Patch.Write(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    public void Delete(Guid incident)
    {
        try
        {
            File.Delete(PathOf(incident));
        }
        catch (IOException)
        {
            // Tried again when the rule next starts (the reference is then past its use or its retention).
        }
    }

    /// <summary>
    /// The rule's kept references that still apply, oldest first; files of another zone drawing, past the retention
    /// at <paramref name="now"/>, or unreadable are deleted.
    /// </summary>
    public List<IncidentReference> LoadAll(DateTimeOffset now)
    {
        var result = new List<IncidentReference>();
        if (!Directory.Exists(_folder)) return result;
        foreach (var file in Directory.EnumerateFiles(_folder, _prefix + "*.zref"))
        {
            // Another rule whose id starts with this one's ("lawn" and "lawn-2"): its files are not ours.
            if (!Guid.TryParseExact(Path.GetFileNameWithoutExtension(file)[_prefix.Length..], "N", out _)) continue;
            IncidentReference? reference;
            try
            {
                reference = Read(file);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException)
            {
                reference = null;
            }

            if (reference is null || now - reference.Since > Retention)
            {
                TryDelete(file);
                continue;
            }

            result.Add(reference);
        }

        result.Sort((a, b) => a.Since.CompareTo(b.Since));
        return result;
    }

    /// <summary>Null when the file holds a reference of another zone drawing or resolution.</summary>
    private IncidentReference? Read(string file)
    {
        using var stream = File.OpenRead(file);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (reader.ReadInt32() != Magic || reader.ReadInt32() != Version) throw new InvalidDataException("Not an incident reference of a known version.");
            if (!string.Equals(reader.ReadString(), _zoneKey, StringComparison.Ordinal)) return null;
            var incident = new Guid(reader.ReadBytes(16));
            var since = DateTimeOffset.FromUnixTimeMilliseconds(reader.ReadInt64());
            var box = new BoxF(reader.ReadSingle(), reader.ReadSingle(), reader.ReadSingle(), reader.ReadSingle());
            var confidence = reader.ReadSingle();
            return new IncidentReference(incident, since, box, confidence, ZonePatch.Read(reader));
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The incident reference is cut short.", ex);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Ids become file names: anything but letters, digits, '-' and '_' is replaced.</summary>
    private static string SafeName(string id)
    {
        var chars = id.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] is not ('-' or '_')) chars[i] = '_';
        }

        return new string(chars);
    }
}
