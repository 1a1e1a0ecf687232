using System.Text.Json;

namespace CivicLens.Pipeline.Tests;

/// <summary>The JSON lines of one analysis run, parsed.</summary>
internal sealed class AnalysisOutput
{
    public AnalysisOutput(byte[] jsonLines)
    {
        foreach (var line in System.Text.Encoding.UTF8.GetString(jsonLines).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var e = JsonDocument.Parse(line).RootElement.Clone();
            switch (e.GetProperty("type").GetString())
            {
                case "track": Tracks.Add(e); break;
                case "event": Events.Add(e); break;
                case "health": Health.Add(e); break;
                default: throw new InvalidOperationException("unknown line type: " + line);
            }
        }
    }

    public List<JsonElement> Tracks { get; } = [];
    public List<JsonElement> Events { get; } = [];
    public List<JsonElement> Health { get; } = [];

    /// <summary>Per track id: label, first and last time seen, number of updates, first box.</summary>
    public IReadOnlyList<TrackSpan> Spans() => Tracks
        .GroupBy(t => t.GetProperty("track").GetInt64())
        .Select(g => new TrackSpan(g.Key,
            g.GroupBy(t => t.GetProperty("label").GetString()!).OrderByDescending(x => x.Count()).First().Key,
            g.Min(t => t.GetProperty("t").GetDouble()), g.Max(t => t.GetProperty("t").GetDouble()), g.Count(),
            g.First().GetProperty("box").EnumerateArray().Select(v => v.GetSingle()).ToArray()))
        .ToList();
}

internal sealed record TrackSpan(long Id, string Label, double From, double To, int Updates, float[] FirstBox)
{
    public double Duration => To - From;
}
