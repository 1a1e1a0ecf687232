using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace CivicLens.Reports.Open311;

/// <summary>
/// Writes Open311 GeoReport v2 documents in both of its formats from one description: a list of records, each
/// an ordered list of fields. JSON is an array of objects; XML is <c>&lt;root&gt;&lt;item&gt;...&lt;/item&gt;&lt;/root&gt;</c>
/// with the same field names, as the specification's examples show.
/// </summary>
public static class GeoReport
{
    public const string Json = "json";
    public const string Xml = "xml";

    public static string ContentType(string format) => format == Xml ? "text/xml; charset=utf-8" : "application/json; charset=utf-8";

    public static bool IsFormat(string? format) => format is Json or Xml;

    /// <summary>The document: <paramref name="root"/>/<paramref name="item"/> name the XML elements.</summary>
    public static string Write(string format, string root, string item, IEnumerable<IReadOnlyList<KeyValuePair<string, object?>>> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return format == Xml ? WriteXml(root, item, records) : WriteJson(records);
    }

    /// <summary>GeoReport's error document: <c>[{"code":400,"description":"..."}]</c> or <c>&lt;errors&gt;&lt;error&gt;</c>.</summary>
    public static string Error(string format, int code, string description) =>
        Write(format, "errors", "error", [[new("code", code), new("description", description)]]);

    /// <summary>ISO 8601 with offset, as GeoReport wants (<c>2026-11-23T15:58:02+00:00</c>).</summary>
    public static string Time(DateTimeOffset at) => at.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static string WriteJson(IEnumerable<IReadOnlyList<KeyValuePair<string, object?>>> records)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var r in records)
            {
                w.WriteStartObject();
                foreach (var (key, value) in r)
                {
                    w.WritePropertyName(key);
                    switch (value)
                    {
                        case null: w.WriteNullValue(); break;
                        case bool b: w.WriteBooleanValue(b); break;
                        case int i: w.WriteNumberValue(i); break;
                        case long l: w.WriteNumberValue(l); break;
                        case double d: w.WriteNumberValue(d); break;
                        case DateTimeOffset t: w.WriteStringValue(Time(t)); break;
                        case IEnumerable<string> list:
                            w.WriteStringValue(string.Join(",", list));
                            break;
                        default: w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
                    }
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string WriteXml(string root, string item, IEnumerable<IReadOnlyList<KeyValuePair<string, object?>>> records)
    {
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, new XmlWriterSettings { Encoding = Encoding.UTF8, OmitXmlDeclaration = false }))
        {
            w.WriteStartDocument();
            w.WriteStartElement(root);
            foreach (var r in records)
            {
                w.WriteStartElement(item);
                foreach (var (key, value) in r)
                {
                    w.WriteElementString(key, XmlSafe(value switch
                    {
                        null => "",
                        bool b => b ? "true" : "false",
                        DateTimeOffset t => Time(t),
                        double d => d.ToString("R", CultureInfo.InvariantCulture),
                        IEnumerable<string> list when value is not string => string.Join(",", list),
                        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
                    }));
                }

                w.WriteEndElement();
            }

            w.WriteEndElement();
            w.WriteEndDocument();
        }

        // StringBuilder output declares utf-16; the body is sent as UTF-8.
        return sb.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }

    /// <summary>
    /// The text with what XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF) replaced by
    /// U+FFFD: one odd character in a report, or in an echoed request id, must not break a whole answer.
    /// </summary>
    public static string XmlSafe(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var bad = text.IndexOfAnyExcept(XmlChars);
        if (bad < 0) return text;
        var chars = text.ToCharArray();
        for (var i = bad; i < chars.Length; i++)
        {
            var c = chars[i];
            if (char.IsHighSurrogate(c) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
                continue;
            }

            if (!XmlChars.Contains(c)) chars[i] = '\uFFFD';
        }

        return new string(chars);
    }

    // Tab, line feed, carriage return and U+0020..U+D7FF, U+E000..U+FFFD; surrogate pairs are checked above.
    private static readonly System.Buffers.SearchValues<char> XmlChars = System.Buffers.SearchValues.Create(
        "\t\n\r" + string.Concat(Enumerable.Range(0x20, 0xD800 - 0x20).Select(i => (char)i)) + string.Concat(Enumerable.Range(0xE000, 0xFFFE - 0xE000).Select(i => (char)i)));
}
