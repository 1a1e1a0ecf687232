using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Conversion;

/// <summary>One node of a TF.js graph model (a TensorFlow GraphDef node in JSON).</summary>
internal sealed class TfjsNode
{
    private readonly JsonObject? _attr;

    public TfjsNode(string name, string op, IReadOnlyList<string> inputs, JsonObject? attr)
    {
        Name = name;
        Op = op;
        Inputs = inputs;
        _attr = attr;
    }

    public string Name { get; }
    public string Op { get; }

    /// <summary>Data inputs as tensor names ("node" for output 0, "node:1" for output 1); control inputs dropped.</summary>
    public IReadOnlyList<string> Inputs { get; }

    public bool HasAttr(string name) => _attr?[name] is not null;

    public long Int(string name, long? fallback = null) =>
        Value(name, "i") is { } v ? ParseLong(v) : fallback ?? throw Missing(name);

    public float Float(string name, float? fallback = null) =>
        Value(name, "f") is { } v ? ParseFloat(v) : fallback ?? throw Missing(name);

    public bool Bool(string name, bool? fallback = null) =>
        Value(name, "b") is { } v ? v.GetValue<bool>() : fallback ?? throw Missing(name);

    /// <summary>String attributes are base64-encoded bytes in TF.js JSON.</summary>
    public string String(string name, string? fallback = null) =>
        Value(name, "s") is { } v ? Encoding.UTF8.GetString(Convert.FromBase64String(v.GetValue<string>())) : fallback ?? throw Missing(name);

    public long[] IntList(string name, long[]? fallback = null)
    {
        if (_attr?[name]?["list"] is not JsonObject list) return fallback ?? throw Missing(name);
        return list["i"] is JsonArray items ? items.Select(i => ParseLong(i!)).ToArray() : [];
    }

    public string? TypeAttr(string name) => Value(name, "type")?.GetValue<string>();

    /// <summary>A shape attribute (e.g. a Placeholder's); -1 marks an unknown dimension, null an unknown rank.</summary>
    public long[]? ShapeAttr(string name)
    {
        if (_attr?[name]?["shape"] is not JsonObject shape || shape["unknownRank"]?.GetValue<bool>() == true) return null;
        return (shape["dim"] as JsonArray ?? []).Select(TfjsGraph.ParseDim).ToArray();
    }

    public override string ToString() => $"{Op} '{Name}'";

    private JsonNode? Value(string name, string kind) => _attr?[name]?[kind];

    private ModelException Missing(string name) => new($"Node {this} has no attribute '{name}'.");

    // int64 values are JSON strings in TF.js graph files; be lenient and accept numbers too.
    private static long ParseLong(JsonNode node) =>
        node.GetValueKind() == JsonValueKind.String ? long.Parse(node.GetValue<string>()) : node.GetValue<long>();

    private static float ParseFloat(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>() switch
        {
            "Infinity" => float.PositiveInfinity,
            "-Infinity" => float.NegativeInfinity,
            "NaN" => float.NaN,
            var s => float.Parse(s),
        },
        _ => node.GetValue<float>(),
    };
}

/// <summary>A tensor named in the model's signature, with its static shape (-1 for unknown).</summary>
internal sealed record TfjsSignatureTensor(string Key, string Name, long[]? Shape);

/// <summary>
/// A TF.js graph model: the topology from <c>model.json</c> and the constant values decoded from its
/// weights manifest (float16 quantisation widened to float32; TF.js stores int64 as int32).
/// </summary>
internal sealed class TfjsGraph
{
    private TfjsGraph(IReadOnlyList<TfjsNode> nodes, IReadOnlyDictionary<string, ConstTensor> weights,
        IReadOnlyList<TfjsSignatureTensor> inputs, IReadOnlyList<TfjsSignatureTensor> outputs)
    {
        Nodes = nodes;
        Weights = weights;
        SignatureInputs = inputs;
        SignatureOutputs = outputs;
    }

    public IReadOnlyList<TfjsNode> Nodes { get; }
    public IReadOnlyDictionary<string, ConstTensor> Weights { get; }
    public IReadOnlyList<TfjsSignatureTensor> SignatureInputs { get; }
    public IReadOnlyList<TfjsSignatureTensor> SignatureOutputs { get; }

    /// <param name="modelJson">The model.json bytes.</param>
    /// <param name="readWeightsFile">Returns the bytes of a weights shard named in the manifest's <c>paths</c>.</param>
    public static TfjsGraph Load(ReadOnlySpan<byte> modelJson, Func<string, byte[]> readWeightsFile)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(modelJson) as JsonObject ?? throw new ModelException("The TF.js model JSON is not an object.");
        }
        catch (JsonException ex)
        {
            throw new ModelException($"The TF.js model JSON cannot be parsed: {ex.Message}", ex);
        }

        var format = root["format"]?.GetValue<string>();
        if (format is not null && format != "graph-model")
        {
            throw new ModelException($"The TF.js model is a '{format}'; only 'graph-model' files can be converted.");
        }

        if (root["modelTopology"]?["node"] is not JsonArray nodeArray)
        {
            throw new ModelException("The TF.js model JSON has no modelTopology.node list.");
        }

        if (root["modelTopology"]?["library"]?["function"] is JsonArray { Count: > 0 })
        {
            throw new ModelException("The TF.js model uses graph functions (control flow), which the converter does not support.");
        }

        var nodes = nodeArray.Select(ParseNode).ToList();
        var weights = ReadWeights(root["weightsManifest"] as JsonArray, readWeightsFile);
        var signature = root["signature"] as JsonObject;
        return new TfjsGraph(nodes, weights, ParseSignature(signature?["inputs"]), ParseSignature(signature?["outputs"]));
    }

    private static TfjsNode ParseNode(JsonNode? node)
    {
        var name = node?["name"]?.GetValue<string>() ?? throw new ModelException("A TF.js graph node has no name.");
        var op = node["op"]?.GetValue<string>() ?? throw new ModelException($"TF.js graph node '{name}' has no op.");
        var inputs = (node["input"] as JsonArray ?? [])
            .Select(i => i!.GetValue<string>())
            .Where(i => !i.StartsWith('^'))
            .Select(TensorName)
            .ToList();
        return new TfjsNode(name, op, inputs, node["attr"] as JsonObject);
    }

    /// <summary>"node:0" and "node" name the same tensor.</summary>
    public static string TensorName(string name) => name.EndsWith(":0", StringComparison.Ordinal) ? name[..^2] : name;

    /// <summary>A TensorShapeProto dim in JSON: size as a string; an absent size is proto3's default 0.</summary>
    internal static long ParseDim(JsonNode? dim) => dim?["size"] is { } s
        ? s.GetValueKind() == JsonValueKind.String ? long.Parse(s.GetValue<string>()) : s.GetValue<long>()
        : 0;

    private static List<TfjsSignatureTensor> ParseSignature(JsonNode? map)
    {
        if (map is not JsonObject obj) return [];
        var result = new List<TfjsSignatureTensor>();
        foreach (var (key, value) in obj)
        {
            var name = value?["name"]?.GetValue<string>() ?? key;
            long[]? shape = null;
            if (value?["tensorShape"] is JsonObject ts && ts["unknownRank"]?.GetValue<bool>() != true)
            {
                shape = (ts["dim"] as JsonArray ?? [])
                    .Select(ParseDim).ToArray();
            }

            result.Add(new TfjsSignatureTensor(key, TensorName(name), shape));
        }

        return result;
    }

    private static Dictionary<string, ConstTensor> ReadWeights(JsonArray? manifest, Func<string, byte[]> readWeightsFile)
    {
        var weights = new Dictionary<string, ConstTensor>(StringComparer.Ordinal);
        if (manifest is null) return weights;
        foreach (var group in manifest)
        {
            var paths = (group?["paths"] as JsonArray ?? []).Select(p => p!.GetValue<string>()).ToList();
            // Shards of one group are one buffer cut into pieces: concatenate in order.
            var buffer = paths.SelectMany(p => ReadShard(p, readWeightsFile)).ToArray();
            var offset = 0;
            foreach (var spec in group?["weights"] as JsonArray ?? [])
            {
                var name = spec?["name"]?.GetValue<string>() ?? throw new ModelException("A weights manifest entry has no name.");
                var shape = (spec["shape"] as JsonArray ?? []).Select(d => d!.GetValue<long>()).ToArray();
                var dtype = spec["dtype"]?.GetValue<string>() ?? "float32";
                var quantization = spec["quantization"]?["dtype"]?.GetValue<string>();
                var count = checked((int)Shapes.Count(shape));
                var (tensor, size) = DecodeWeight(name, dtype, quantization, shape, count, buffer.AsSpan(Math.Min(offset, buffer.Length)));
                offset += size;
                if (offset > buffer.Length)
                {
                    throw new ModelException(
                        $"The weights files [{string.Join(", ", paths)}] hold {buffer.Length} bytes but the manifest needs more (ran out at weight '{name}'); the .bin file is truncated or does not belong to this model.json.");
                }

                weights[name] = tensor;
            }

            if (offset != buffer.Length)
            {
                throw new ModelException(
                    $"The weights files [{string.Join(", ", paths)}] hold {buffer.Length} bytes but the manifest describes {offset}; the .bin file does not belong to this model.json.");
            }
        }

        return weights;
    }

    private static byte[] ReadShard(string path, Func<string, byte[]> readWeightsFile)
    {
        try
        {
            return readWeightsFile(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"Weights file '{path}' named in the TF.js model JSON cannot be read: {ex.Message}", ex);
        }
    }

    private static (ConstTensor Tensor, int Size) DecodeWeight(string name, string dtype, string? quantization, long[] shape, int count, ReadOnlySpan<byte> data)
    {
        if (quantization is not null)
        {
            if (quantization != "float16" || dtype != "float32")
            {
                throw new ModelException($"Weight '{name}' uses {quantization} quantisation of {dtype}; the converter supports float16 quantisation of float32 only.");
            }

            var size = count * 2;
            if (data.Length < size) return (ConstTensor.FromFloats(shape, new float[count]), size);
            var values = new float[count];
            for (var i = 0; i < count; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(data[(i * 2)..]);
            return (ConstTensor.FromFloats(shape, values), size);
        }

        switch (dtype)
        {
            case "float32":
                {
                    var size = count * 4;
                    var values = new float[count];
                    if (data.Length >= size)
                    {
                        for (var i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
                    }

                    return (ConstTensor.FromFloats(shape, values), size);
                }
            case "int32":
                {
                    var size = count * 4;
                    var values = new long[count];
                    if (data.Length >= size)
                    {
                        for (var i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(data[(i * 4)..]);
                    }

                    return (ConstTensor.FromIntegers(TfDataType.Int32, shape, values), size);
                }
            case "bool":
                {
                    var values = new long[count];
                    if (data.Length >= count)
                    {
                        for (var i = 0; i < count; i++) values[i] = data[i] != 0 ? 1 : 0;
                    }

                    return (ConstTensor.FromIntegers(TfDataType.Bool, shape, values), count);
                }
            default:
                throw new ModelException($"Weight '{name}' has dtype '{dtype}', which the converter does not support (float32, int32, bool).");
        }
    }
}
