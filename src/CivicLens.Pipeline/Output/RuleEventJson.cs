using System.Text.Json;
using CivicLens.Rules.Engine;

namespace CivicLens.Pipeline.Output;

/// <summary>The JSON line of a rule event (the same shape the server stores and the API serves).</summary>
public static class RuleEventJson
{
    public static void Write(Utf8JsonWriter json, Stream output, RuleEvent e, string? snapshot)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(e);
        json.Reset(output);
        json.WriteStartObject();
        json.WriteString("type", "event");
        json.WriteString("id", e.Id);
        json.WriteString("kind", e.Kind);
        json.WriteString("phase", e.Phase.ToString().ToLowerInvariant());
        if (e.IncidentId is { } incident) json.WriteString("incident", incident);
        json.WriteString("camera", e.Camera);
        json.WriteString("rule", e.Rule);
        json.WriteString("category", e.Category);
        if (e.Site is not null) json.WriteString("site", e.Site);
        if (e.Zone is not null) json.WriteString("zone", e.Zone);
        if (e.Line is not null) json.WriteString("line", e.Line);
        json.WriteNumber("t", Math.Round(e.StreamTime.TotalSeconds, 3));
        json.WriteString("at", e.At);
        if (e.Label is not null) json.WriteString("label", e.Label);
        if (e.Count is { } count) json.WriteNumber("count", count);
        if (e.Direction is not null) json.WriteString("direction", e.Direction);
        json.WriteNumber("confidence", Math.Round(e.Confidence, 3));
        if (e.Box is { } b) WriteBox(json, b);

        if (e.Duration is { } d) json.WriteNumber("duration", Math.Round(d.TotalSeconds, 3));
        if (e.IntervalStart is { } start) json.WriteNumber("interval_start", Math.Round(start.TotalSeconds, 3));
        if (e.Counts is { } counts)
        {
            json.WriteStartObject("counts");
            foreach (var (k, v) in counts) json.WriteNumber(k, v);
            json.WriteEndObject();
        }

        if (e.Detail is not null) json.WriteString("detail", e.Detail);
        if (snapshot is not null) json.WriteString("snapshot", snapshot);
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    /// <summary><c>"box": [x, y, width, height]</c> in frame pixels, to a tenth of a pixel.</summary>
    public static void WriteBox(Utf8JsonWriter json, in Domain.Geometry.BoxF b)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartArray("box");
        json.WriteNumberValue(MathF.Round(b.X, 1));
        json.WriteNumberValue(MathF.Round(b.Y, 1));
        json.WriteNumberValue(MathF.Round(b.Width, 1));
        json.WriteNumberValue(MathF.Round(b.Height, 1));
        json.WriteEndArray();
    }
}
