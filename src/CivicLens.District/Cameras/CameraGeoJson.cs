using System.Globalization;
using System.Text.Json;

namespace CivicLens.District.Cameras;

/// <summary>
/// Cameras from a GeoJSON FeatureCollection of Point features: the position is <c>geometry.coordinates</c>
/// [longitude, latitude] (an altitude after them is ignored), everything else is in <c>properties</c> under the CSV
/// column names (snake_case or camelCase; the feature's own <c>id</c> may stand for <c>properties.id</c>). The
/// stream is read feature by feature; every problem names <c>features[i]</c> (0-based) and the field.
/// </summary>
public static class CameraGeoJson
{
    private static readonly HashSet<string> GeometryTypes = new(StringComparer.Ordinal)
    {
        "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
    };

    /// <summary>Reads UTF-8 JSON (a byte-order mark tolerated) from <paramref name="stream"/>, leaving it open.</summary>
    public static CameraImport Read(Stream stream)
    {
        var problems = new List<ImportProblem>();
        var rows = new List<CameraRow>();
        var reader = new FeatureReader(problems, rows);
        string? type = null;
        var sawFeatures = false;
        using var json = new JsonStreamReader(stream);
        try
        {
            if (json.Next(out _) != JsonTokenType.StartObject)
            {
                Document(problems, "", "the file is not a GeoJSON FeatureCollection (it must be a JSON object)");
                return new CameraImport(rows, problems);
            }

            while (json.Next(out var member) == JsonTokenType.PropertyName)
            {
                switch (member)
                {
                    case "type":
                        {
                            using var value = json.ReadValue()!;
                            type = value.RootElement.ValueKind == JsonValueKind.String ? value.RootElement.GetString() : "";
                            break;
                        }

                    case "features":
                        sawFeatures = true;
                        if (!json.TryEnterArray())
                        {
                            Document(problems, "features", "features must be an array of Feature objects");
                            break;
                        }

                        while (json.ReadValue() is { } feature)
                        {
                            using (feature) reader.Read(feature.RootElement);
                        }

                        break;

                    case "crs":
                        {
                            using var value = json.ReadValue()!;
                            if (!IsWgs84(value.RootElement)) Document(problems, "crs", "crs must be WGS 84 longitude, latitude (urn:ogc:def:crs:OGC:1.3:CRS84 or EPSG:4326), or left out");
                            break;
                        }

                    default:
                        json.SkipValue();
                        break;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            var line = e is JsonException { LineNumber: { } n } ? $" (line {n + 1})" : "";
            Document(problems, "", $"the file is not valid JSON{line}");
            return new CameraImport(rows, problems);
        }

        if (type == "Feature") Document(problems, "type", "the file is a single Feature: put it in a FeatureCollection");
        else if (type != "FeatureCollection") Document(problems, "type", "type must be 'FeatureCollection'");
        if (!sawFeatures) Document(problems, "features", "features is missing: a FeatureCollection lists its cameras in 'features'");
        return new CameraImport(rows, problems);
    }

    private static void Document(List<ImportProblem> problems, string field, string message) =>
        problems.Add(new ImportProblem(-1, field, message) { Location = ImportLocation.Document });

    /// <summary>GeoJSON (RFC 7946) is always WGS 84; an old-style crs member may only say so.</summary>
    private static bool IsWgs84(JsonElement crs)
    {
        if (crs.ValueKind == JsonValueKind.Null) return true;
        if (crs.ValueKind != JsonValueKind.Object || !crs.TryGetProperty("properties", out var p) || p.ValueKind != JsonValueKind.Object
            || !p.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var n = name.GetString()!;
        return n.EndsWith("CRS84", StringComparison.OrdinalIgnoreCase) || n.EndsWith("4326", StringComparison.Ordinal);
    }

    /// <summary>One feature at a time, into the shared checks.</summary>
    private sealed class FeatureReader
    {
        private static readonly string[] Names = Defaults();

        private readonly List<CameraRow> _rows;
        private readonly RowCheck _check;
        private readonly CameraValues _values = new();
        private readonly IdRegistry _ids = new();
        private readonly bool[] _seen = new bool[CameraColumns.Count];
        private readonly HashSet<string> _unknown = new(StringComparer.Ordinal);
        private int _index;

        public FeatureReader(List<ImportProblem> problems, List<CameraRow> rows)
        {
            _rows = rows;
            _check = new RowCheck(ImportLocation.Feature, problems, Names);
        }

        private static string[] Defaults()
        {
            var names = (string[])CameraColumns.Canonical.Clone();
            names[(int)CameraField.Latitude] = names[(int)CameraField.Longitude] = "geometry.coordinates";
            return names;
        }

        public void Read(JsonElement feature)
        {
            _check.Begin(_index++);
            _check.ResetNames();
            _values.Clear();
            Array.Clear(_seen);
            if (feature.ValueKind != JsonValueKind.Object)
            {
                _check.Add("", "the feature is not a GeoJSON Feature object");
                return;
            }

            JsonElement? featureId = null;
            var type = false;
            var geometry = false;
            foreach (var member in feature.EnumerateObject())
            {
                switch (member.Name)
                {
                    case "type":
                        type = true;
                        if (member.Value.ValueKind != JsonValueKind.String || member.Value.GetString() != "Feature") _check.Add("type", "type must be 'Feature'");
                        break;
                    case "geometry":
                        geometry = true;
                        Geometry(member.Value);
                        break;
                    case "properties":
                        Properties(member.Value);
                        break;
                    case "id":
                        featureId = member.Value;
                        break;
                }
            }

            if (!type) _check.Add("type", "type is missing: a feature says \"type\": \"Feature\"");
            if (!geometry) Geometry(default);
            if (featureId is { } fid) FeatureId(fid);

            var row = CameraRowValidator.Check(_check, _values);
            if (_values.Id is { } id && CameraRowValidator.IsValidId(id.AsSpan().Trim())) _ids.Check(_check, id.Trim());
            _check.Finish();
            if (row is not null && _check.Ok) _rows.Add(row);
        }

        private void Geometry(JsonElement g)
        {
            if (g.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                Position("geometry", "geometry is missing: a camera needs a Point at [longitude, latitude]");
                return;
            }

            if (g.ValueKind != JsonValueKind.Object)
            {
                Position("geometry", "geometry must be a GeoJSON Point object");
                return;
            }

            var type = g.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "Point")
            {
                Position("geometry.type", type is not null && GeometryTypes.Contains(type)
                    ? $"geometry is a {type}, not a Point: a camera stands at one point"
                    : "geometry.type must be 'Point'");
                return;
            }

            if (!g.TryGetProperty("coordinates", out var c) || c.ValueKind == JsonValueKind.Null)
            {
                Position("geometry.coordinates", "geometry.coordinates is missing: expected [longitude, latitude]");
                return;
            }

            if (c.ValueKind != JsonValueKind.Array || c.GetArrayLength() is < 2 or > 3 || c.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number))
            {
                Position("geometry.coordinates", "geometry.coordinates must be [longitude, latitude] as two numbers");
                return;
            }

            _values.Longitude = c[0].GetDouble();
            _values.Latitude = c[1].GetDouble();
        }

        private void Position(string field, string message)
        {
            _check.Add(field, message, (int)CameraField.Latitude);
            _values.MarkReported(CameraField.Latitude);
            _values.MarkReported(CameraField.Longitude);
        }

        private void Properties(JsonElement p)
        {
            if (p.ValueKind == JsonValueKind.Null) return;
            if (p.ValueKind != JsonValueKind.Object)
            {
                _check.Add("properties", "properties must be an object");
                return;
            }

            foreach (var property in p.EnumerateObject())
            {
                var written = property.Name;
                if (!CameraColumns.TryGet(written, out var f))
                {
                    // Reported once, on the first feature that has it.
                    if (_unknown.Add(written))
                    {
                        var shown = CameraColumns.Safe(written, 0) is var s && s.StartsWith("column ", StringComparison.Ordinal) ? "(a long or URL-like name)" : s;
                        var suggestion = CameraColumns.Suggest(written) is { } m ? $"; did you mean '{m}'?" : "";
                        _check.Add(shown, $"unknown property '{shown}'{suggestion} (the properties are {CameraColumns.List}, the position being geometry.coordinates)", int.MaxValue);
                    }

                    continue;
                }

                var shownName = CameraColumns.Safe(written, 0);
                if (f is CameraField.Latitude or CameraField.Longitude)
                {
                    _check.Add(shownName, $"{shownName} does not belong in properties: the position is geometry.coordinates [longitude, latitude]", (int)f);
                    continue;
                }

                if (_seen[(int)f])
                {
                    _check.Add(shownName, $"{shownName} repeats {_check.Name(f)}", (int)f);
                    continue;
                }

                _seen[(int)f] = true;
                _check.SetName(f, shownName);
                Value(f, property.Value);
            }
        }

        private void Value(CameraField f, JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.Null:
                    return;
                case JsonValueKind.String:
                    CameraValueParser.Assign(_check, _values, f, value.GetString());
                    return;
                case JsonValueKind.Number when CameraValueParser.IsNumber(f):
                    CameraValueParser.SetNumber(_values, f, value.GetDouble());
                    return;
                case JsonValueKind.Number when f == CameraField.RetentionDays:
                    if (value.TryGetInt32(out var days)) _values.RetentionDays = days;
                    else Wrong(f, "a whole number of days (like 30 or \"30d\")");
                    return;
                case JsonValueKind.Number when f == CameraField.Id:
                    if (value.TryGetInt64(out var number)) _values.Id = number.ToString(CultureInfo.InvariantCulture);
                    else Wrong(f, "text or a whole number");
                    return;
                case JsonValueKind.True or JsonValueKind.False when f == CameraField.Enabled:
                    _values.Enabled = value.ValueKind == JsonValueKind.True;
                    return;
                default:
                    Wrong(f, f switch
                    {
                        CameraField.Enabled => "true or false",
                        CameraField.RetentionDays => "a whole number of days (like 30 or \"30d\")",
                        _ when CameraValueParser.IsNumber(f) => "a number",
                        _ => "text",
                    });
                    return;
            }
        }

        private void Wrong(CameraField f, string expected)
        {
            _check.Add(f, $"{_check.Name(f)} must be {expected}");
            _values.MarkReported(f);
        }

        /// <summary>The feature's own id stands for properties.id when that is absent; when both are given they must agree.</summary>
        private void FeatureId(JsonElement id)
        {
            string? text = id.ValueKind switch
            {
                JsonValueKind.String => id.GetString(),
                JsonValueKind.Number when id.TryGetInt64(out var n) => n.ToString(CultureInfo.InvariantCulture),
                JsonValueKind.Null => null,
                _ => "",
            };
            if (text is null) return;
            if (text.Length == 0 && id.ValueKind != JsonValueKind.String)
            {
                _check.Add("id", "the feature id must be text or a whole number", (int)CameraField.Id);
                _values.MarkReported(CameraField.Id);
                return;
            }

            if (_seen[(int)CameraField.Id] || _values.IsReported(CameraField.Id))
            {
                if (_values.Id is { } own && !string.Equals(own.Trim(), text.Trim(), StringComparison.Ordinal))
                {
                    _check.Add("id", $"the feature id and properties.{_check.Name(CameraField.Id)} differ", (int)CameraField.Id);
                }

                return;
            }

            _values.Id = text;
            _check.SetName(CameraField.Id, "id");
        }
    }
}
