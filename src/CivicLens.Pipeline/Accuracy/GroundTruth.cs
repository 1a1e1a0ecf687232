using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace CivicLens.Pipeline.Accuracy;

/// <summary>
/// What a person watching a clip saw, labelled by hand (see samples/vtest.truth.yaml): entries into zones, line
/// crossings, vehicles standing in no-stopping zones, and people counts per second. Independent of the detector.
/// </summary>
public sealed class GroundTruth
{
    public string Video { get; set; } = "";

    public string Config { get; set; } = "";

    [YamlMember(Alias = "labelled_at_fps")]
    public double LabelledAtFps { get; set; }

    [YamlMember(Alias = "zone_entries")]
    public Dictionary<string, List<TruthMoment>> ZoneEntries { get; set; } = [];

    [YamlMember(Alias = "line_crossings")]
    public Dictionary<string, List<TruthMoment>> LineCrossings { get; set; } = [];

    [YamlMember(Alias = "stationary_vehicles")]
    public Dictionary<string, List<TruthSpan>> StationaryVehicles { get; set; } = [];

    [YamlMember(Alias = "plaza_counts")]
    public List<TruthCount> PlazaCounts { get; set; } = [];

    public List<string> Notes { get; set; } = [];

    public static GroundTruth Load(string path)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).IgnoreUnmatchedProperties().Build();
        using var reader = File.OpenText(path);
        return deserializer.Deserialize<GroundTruth>(reader) ?? throw new InvalidDataException($"{path} holds no ground truth.");
    }
}

public sealed class TruthMoment
{
    public double T { get; set; }

    public string? Direction { get; set; }

    public string? What { get; set; }
}

public sealed class TruthSpan
{
    public double From { get; set; }

    public double To { get; set; }

    public string? What { get; set; }
}

public sealed class TruthCount
{
    public double T { get; set; }

    public int Count { get; set; }
}
