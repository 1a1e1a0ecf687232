using System.Text;
using System.Text.Json;
using System.Xml;
using CivicLens.District.Categories;

namespace CivicLens.Reports.Open311;

/// <summary>One endpoint a discovery document lists (GeoReport v2 is the only specification this server speaks).</summary>
/// <param name="Type"><c>production</c> or <c>test</c>.</param>
public sealed record DiscoveryEndpoint(string Url, DateTimeOffset Changeset, string Type);

/// <summary>The discovery document: who runs the service, where to get a key, and its endpoints.</summary>
public sealed record DiscoveryDocument(DateTimeOffset Changeset, string Contact, string KeyService, IReadOnlyList<DiscoveryEndpoint> Endpoints);

/// <summary>
/// The GeoReport v2 documents that are not a flat list of records: discovery (an object with an
/// <c>endpoints</c> list, each with a <c>formats</c> list) and a service definition (<c>attributes</c>, each with
/// its <c>values</c>). Both formats follow the specification's examples element for element.
/// </summary>
public static class GeoReportDocuments
{
    public const string Specification = "http://wiki.open311.org/GeoReport_v2";
    public static readonly IReadOnlyList<string> Formats = ["text/xml", "application/json"];

    public static string Discovery(string format, DiscoveryDocument d)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (format == GeoReport.Xml)
        {
            return Xml(w =>
            {
                w.WriteStartElement("discovery");
                w.WriteElementString("changeset", GeoReport.Time(d.Changeset));
                w.WriteElementString("contact", GeoReport.XmlSafe(d.Contact));
                w.WriteElementString("key_service", GeoReport.XmlSafe(d.KeyService));
                w.WriteStartElement("endpoints");
                foreach (var e in d.Endpoints)
                {
                    w.WriteStartElement("endpoint");
                    w.WriteElementString("specification", Specification);
                    w.WriteElementString("url", GeoReport.XmlSafe(e.Url));
                    w.WriteElementString("changeset", GeoReport.Time(e.Changeset));
                    w.WriteElementString("type", e.Type);
                    w.WriteStartElement("formats");
                    foreach (var f in Formats) w.WriteElementString("format", f);
                    w.WriteEndElement();
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                w.WriteEndElement();
            });
        }

        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("changeset", GeoReport.Time(d.Changeset));
            w.WriteString("contact", d.Contact);
            w.WriteString("key_service", d.KeyService);
            w.WriteStartArray("endpoints");
            foreach (var e in d.Endpoints)
            {
                w.WriteStartObject();
                w.WriteString("specification", Specification);
                w.WriteString("url", e.Url);
                w.WriteString("changeset", GeoReport.Time(e.Changeset));
                w.WriteString("type", e.Type);
                w.WriteStartArray("formats");
                foreach (var f in Formats) w.WriteStringValue(f);
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>A service definition: the service code and its attributes in their order.</summary>
    public static string ServiceDefinition(string format, string serviceCode, IReadOnlyList<AttributeDefinition> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var ordered = attributes.OrderBy(a => a.Order).ToList();
        if (format == GeoReport.Xml)
        {
            return Xml(w =>
            {
                w.WriteStartElement("service_definition");
                w.WriteElementString("service_code", GeoReport.XmlSafe(serviceCode));
                w.WriteStartElement("attributes");
                foreach (var a in ordered)
                {
                    w.WriteStartElement("attribute");
                    w.WriteElementString("variable", a.Variable ? "true" : "false");
                    w.WriteElementString("code", a.Code);
                    w.WriteElementString("datatype", a.Datatype);
                    w.WriteElementString("required", a.Required ? "true" : "false");
                    w.WriteElementString("datatype_description", GeoReport.XmlSafe(a.DatatypeDescription));
                    w.WriteElementString("order", a.Order.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteElementString("description", GeoReport.XmlSafe(a.Description));
                    if (AttributeDatatypes.IsList(a.Datatype))
                    {
                        w.WriteStartElement("values");
                        foreach (var v in a.Values)
                        {
                            w.WriteStartElement("value");
                            w.WriteElementString("key", GeoReport.XmlSafe(v.Key));
                            w.WriteElementString("name", GeoReport.XmlSafe(v.Name));
                            w.WriteEndElement();
                        }

                        w.WriteEndElement();
                    }

                    w.WriteEndElement();
                }

                w.WriteEndElement();
                w.WriteEndElement();
            });
        }

        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("service_code", serviceCode);
            w.WriteStartArray("attributes");
            foreach (var a in ordered)
            {
                w.WriteStartObject();
                w.WriteBoolean("variable", a.Variable);
                w.WriteString("code", a.Code);
                w.WriteString("datatype", a.Datatype);
                w.WriteBoolean("required", a.Required);
                if (a.DatatypeDescription is null) w.WriteNull("datatype_description");
                else w.WriteString("datatype_description", a.DatatypeDescription);
                w.WriteNumber("order", a.Order);
                w.WriteString("description", a.Description);
                if (AttributeDatatypes.IsList(a.Datatype))
                {
                    w.WriteStartArray("values");
                    foreach (var v in a.Values)
                    {
                        w.WriteStartObject();
                        w.WriteString("key", v.Key);
                        w.WriteString("name", v.Name);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// The <c>attribute[code]</c> and <c>attribute[code][]</c> fields of a POST, by code. A repeated
    /// <c>attribute[code][]</c> arrives comma-joined (as form readers join repeated names); list keys hold no comma.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> AttributeFields(IReadOnlyDictionary<string, string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var answers = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            if (!name.StartsWith("attribute[", StringComparison.Ordinal)) continue;
            var many = name.EndsWith("][]", StringComparison.Ordinal);
            var end = many ? name.Length - 3 : name.Length - 1;
            if (name[^1] != ']' || end <= "attribute[".Length) continue;
            var code = name["attribute[".Length..end];
            if (code.Contains('[', StringComparison.Ordinal) || code.Contains(']', StringComparison.Ordinal)) continue;
            var values = many ? value.Split(',', StringSplitOptions.TrimEntries) : [value];
            answers[code] = answers.TryGetValue(code, out var earlier) ? [.. earlier, .. values] : values;
        }

        return answers;
    }

    /// <summary>
    /// Null when <paramref name="given"/> names this server's one jurisdiction (or is absent, which the
    /// specification allows for a single-jurisdiction server); otherwise the error to answer with (404).
    /// </summary>
    public static string? JurisdictionError(string? given, string jurisdiction) =>
        string.IsNullOrEmpty(given) || string.Equals(given, jurisdiction, StringComparison.Ordinal)
            ? null
            : $"jurisdiction_id '{Shorten(given)}' is not served here (this server serves '{jurisdiction}' only)";

    private static string Shorten(string s) => s.Length <= 64 ? s : s[..64] + "...";

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Xml(Action<XmlWriter> write)
    {
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, new XmlWriterSettings { Encoding = Encoding.UTF8 }))
        {
            w.WriteStartDocument();
            write(w);
            w.WriteEndDocument();
        }

        return sb.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal);
    }
}
