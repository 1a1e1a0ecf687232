using System.Globalization;
using CivicLens.Domain.Geometry;
using YamlDotNet.RepresentationModel;

namespace CivicLens.Rules.Configuration;

/// <summary>Collects located errors while a configuration file is read.</summary>
internal sealed class ConfigErrors(string file)
{
    public string File { get; } = file;

    public List<ConfigError> List { get; } = [];

    public void Add(YamlNode node, string field, string message) =>
        List.Add(new ConfigError(File, (int)node.Start.Line, (int)node.Start.Column, field, message));
}

/// <summary>
/// Reads one YAML mapping, remembering which keys were asked for so that <see cref="Finish"/> can report
/// every unknown key (a typo must not silently fall back to a default).
/// </summary>
internal sealed class YamlMap
{
    private readonly YamlMappingNode _node;
    private readonly ConfigErrors _errors;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public YamlMap(YamlMappingNode node, string path, ConfigErrors errors)
    {
        _node = node;
        Path = path;
        _errors = errors;
    }

    public string Path { get; }

    public YamlNode Node => _node;

    public string File => _errors.File;

    public int Line => (int)_node.Start.Line;

    public int Column => (int)_node.Start.Column;

    public string Field(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public void Error(YamlNode node, string key, string message) => _errors.Add(node, Field(key), message);

    public void Error(string key, string message) => _errors.Add(_node, Field(key), message);

    public YamlNode? Get(string key)
    {
        _known.Add(key);
        foreach (var (k, v) in _node.Children)
        {
            if (k is YamlScalarNode s && s.Value == key) return v;
        }

        return null;
    }

    public bool Has(string key) => Get(key) is not null;

    public string? String(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        if (node is YamlScalarNode { Value: { } v } && v.Length > 0) return v;
        Error(node, key, "must be a non-empty text value");
        return null;
    }

    public string? Id(string key = "id")
    {
        var value = String(key, required: true);
        if (value is null) return null;
        if (!value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || value.Length > 64)
        {
            Error(Get(key)!, key, $"'{value}' must be 1-64 letters, digits, '-' or '_'");
            return null;
        }

        return value;
    }

    public double? Number(string key, double min, double max, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        if (node is YamlScalarNode { Value: { } v } && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            if (d < min || d > max)
            {
                Error(node, key, string.Create(CultureInfo.InvariantCulture, $"{d} is out of range: must be between {min} and {max}"));
                return null;
            }

            return d;
        }

        Error(node, key, "must be a number");
        return null;
    }

    public int? Int(string key, int min, int max, bool required = false)
    {
        var d = Number(key, min, max, required);
        if (d is null) return null;
        if (d != Math.Floor(d.Value))
        {
            Error(Get(key)!, key, "must be a whole number");
            return null;
        }

        return (int)d.Value;
    }

    public bool? Bool(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: "true" or "yes" or "on" }) return true;
        if (node is YamlScalarNode { Value: "false" or "no" or "off" }) return false;
        Error(node, key, "must be true or false");
        return null;
    }

    public TimeSpan? Duration(string key, TimeSpan? min = null, TimeSpan? max = null, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        if (node is not YamlScalarNode { Value: { } v } || !Durations.TryParse(v, out var value))
        {
            Error(node, key, "must be a duration such as 30s, 5m, 1h30m or a number of seconds");
            return null;
        }

        if (min is { } lo && value < lo)
        {
            Error(node, key, $"{v} is too short: must be at least {Durations.Format(lo)}");
            return null;
        }

        if (max is { } hi && value > hi)
        {
            Error(node, key, $"{v} is too long: must be at most {Durations.Format(hi)}");
            return null;
        }

        return value;
    }

    public IReadOnlyList<string>? Strings(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { Length: > 0 } single }) return [single];
        if (node is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode { Value.Length: > 0 }))
        {
            return seq.Children.Select(c => ((YamlScalarNode)c).Value!).ToArray();
        }

        Error(node, key, "must be a list of names");
        return null;
    }

    public PointF? Point(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        return ReadPoint(node, key);
    }

    public IReadOnlyList<PointF>? Points(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        if (node is not YamlSequenceNode seq)
        {
            Error(node, key, "must be a list of [x, y] points");
            return null;
        }

        var points = new List<PointF>(seq.Children.Count);
        foreach (var child in seq.Children)
        {
            if (ReadPoint(child, key) is not { } p) return null;
            points.Add(p);
        }

        return points;
    }

    /// <summary>A list of [longitude, latitude] pairs (WGS84 degrees, GeoJSON order).</summary>
    public IReadOnlyList<GeoPoint>? GeoPoints(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        if (node is not YamlSequenceNode seq)
        {
            Error(node, key, "must be a list of [longitude, latitude] points");
            return null;
        }

        var points = new List<GeoPoint>(seq.Children.Count);
        foreach (var child in seq.Children)
        {
            if (ReadGeoPoint(child, key) is not { } p) return null;
            points.Add(p);
        }

        return points;
    }

    /// <summary>One [longitude, latitude] pair.</summary>
    public GeoPoint? GeoPoint(string key, bool required = false)
    {
        var node = Get(key);
        if (node is null)
        {
            if (required) Error(key, "is required");
            return null;
        }

        return ReadGeoPoint(node, key);
    }

    private GeoPoint? ReadGeoPoint(YamlNode node, string key)
    {
        if (node is YamlSequenceNode { Children.Count: 2 } pair
            && pair.Children[0] is YamlScalarNode { Value: { } xs } && double.TryParse(xs, NumberStyles.Float, CultureInfo.InvariantCulture, out var lon)
            && pair.Children[1] is YamlScalarNode { Value: { } ys } && double.TryParse(ys, NumberStyles.Float, CultureInfo.InvariantCulture, out var lat)
            && lon is >= -180 and <= 180 && lat is >= -90 and <= 90)
        {
            return new GeoPoint(lon, lat);
        }

        Error(node, key, "a place must be written [longitude, latitude] in degrees (GeoJSON order)");
        return null;
    }

    private PointF? ReadPoint(YamlNode node, string key)
    {
        if (node is YamlSequenceNode { Children.Count: 2 } pair
            && pair.Children[0] is YamlScalarNode { Value: { } xs } && float.TryParse(xs, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
            && pair.Children[1] is YamlScalarNode { Value: { } ys } && float.TryParse(ys, NumberStyles.Float, CultureInfo.InvariantCulture, out var y)
            && float.IsFinite(x) && float.IsFinite(y))
        {
            return new PointF(x, y);
        }

        Error(node, key, "a point must be written [x, y] with two numbers (pixels)");
        return null;
    }

    /// <summary>The mappings of a list (cameras, zones, rules), each with its path.</summary>
    public IEnumerable<YamlMap> Maps(string key, Func<YamlMap, int, string>? name = null)
    {
        var node = Get(key);
        if (node is null) yield break;
        if (node is not YamlSequenceNode seq)
        {
            Error(node, key, "must be a list");
            yield break;
        }

        for (var i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlMappingNode m)
            {
                yield return new YamlMap(m, $"{Field(key)}[{i}]", _errors);
            }
            else
            {
                _errors.Add(seq.Children[i], $"{Field(key)}[{i}]", "must be a mapping of keys");
            }
        }
    }

    public YamlMap? Map(string key)
    {
        var node = Get(key);
        if (node is null) return null;
        if (node is YamlMappingNode m) return new YamlMap(m, Field(key), _errors);
        Error(node, key, "must be a mapping of keys");
        return null;
    }

    /// <summary>Reports every key that was never asked for.</summary>
    /// <summary>Every key of a free-form mapping whose values are plain text (attributes); each counts as known.</summary>
    public IEnumerable<(string Key, string Value)> Scalars()
    {
        foreach (var (k, v) in _node.Children)
        {
            if (k is not YamlScalarNode { Value: { } key }) continue;
            _known.Add(key);
            if (v is YamlScalarNode { Value: { } value }) yield return (key, value);
            else Error(v, key, "must be plain text");
        }
    }

    public void Finish()
    {
        foreach (var (k, _) in _node.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "?";
            if (_known.Contains(name)) continue;
            var expected = string.Join(", ", _known.Order(StringComparer.Ordinal));
            _errors.Add(k, Field(name), $"unknown key (expected one of: {expected})");
        }
    }
}
