using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace CivicLens.Inference.Tests.Conversion;

/// <summary>Writes small TF.js graph models (model.json + weights) for converter tests, in the format tfjs-converter emits.</summary>
internal sealed class TfjsGraphBuilder
{
    private readonly JsonArray _nodes = [];
    private readonly JsonArray _weights = [];
    private readonly JsonObject _inputs = [];
    private readonly JsonObject _outputs = [];
    private readonly List<byte> _bin = [];

    public string WeightsFileName { get; set; } = "weights.bin";

    public TfjsGraphBuilder Placeholder(string name, params long[] shape)
    {
        _nodes.Add(new JsonObject
        {
            ["name"] = name,
            ["op"] = "Placeholder",
            ["attr"] = new JsonObject
            {
                ["shape"] = new JsonObject { ["shape"] = Shape(shape) },
                ["dtype"] = new JsonObject { ["type"] = "DT_FLOAT" },
            },
        });
        _inputs[name + ":0"] = new JsonObject { ["name"] = name + ":0", ["dtype"] = "DT_FLOAT", ["tensorShape"] = Shape(shape) };
        return this;
    }

    public TfjsGraphBuilder Const(string name, long[] shape, float[] values)
    {
        foreach (var v in values)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, v);
            _bin.AddRange(b);
        }

        return AddConst(name, shape, "float32", "DT_FLOAT");
    }

    public TfjsGraphBuilder ConstInt(string name, long[] shape, int[] values, string tfType = "DT_INT32")
    {
        foreach (var v in values)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, v);
            _bin.AddRange(b);
        }

        return AddConst(name, shape, "int32", tfType);
    }

    public TfjsGraphBuilder Node(string op, string name, string[] inputs, JsonObject? attr = null)
    {
        _nodes.Add(new JsonObject
        {
            ["name"] = name,
            ["op"] = op,
            ["input"] = new JsonArray(inputs.Select(i => (JsonNode)i).ToArray()),
            ["attr"] = attr ?? [],
        });
        return this;
    }

    public TfjsGraphBuilder Output(string tensor, params long[] shape)
    {
        _outputs[tensor] = new JsonObject { ["name"] = tensor, ["dtype"] = "DT_FLOAT", ["tensorShape"] = Shape(shape) };
        return this;
    }

    public byte[] Json() => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["format"] = "graph-model",
        ["generatedBy"] = "civiclens-tests",
        ["convertedBy"] = "civiclens-tests",
        ["signature"] = new JsonObject { ["inputs"] = _inputs.DeepClone(), ["outputs"] = _outputs.DeepClone() },
        ["modelTopology"] = new JsonObject { ["node"] = _nodes.DeepClone(), ["library"] = new JsonObject(), ["versions"] = new JsonObject() },
        ["weightsManifest"] = new JsonArray(new JsonObject { ["paths"] = new JsonArray(WeightsFileName), ["weights"] = _weights.DeepClone() }),
    }.ToJsonString());

    public byte[] Weights() => [.. _bin];

    public static JsonObject Ints(params long[] values) =>
        new() { ["list"] = new JsonObject { ["i"] = new JsonArray(values.Select(v => (JsonNode)v.ToString()).ToArray()) } };

    public static JsonObject Str(string value) => new() { ["s"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) };

    private TfjsGraphBuilder AddConst(string name, long[] shape, string dtype, string tfType)
    {
        _weights.Add(new JsonObject { ["name"] = name, ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()), ["dtype"] = dtype });
        _nodes.Add(new JsonObject
        {
            ["name"] = name,
            ["op"] = "Const",
            ["attr"] = new JsonObject
            {
                ["dtype"] = new JsonObject { ["type"] = tfType },
                ["value"] = new JsonObject { ["tensor"] = new JsonObject { ["dtype"] = tfType, ["tensorShape"] = Shape(shape) } },
            },
        });
        return this;
    }

    private static JsonObject Shape(long[] shape) =>
        new() { ["dim"] = new JsonArray(shape.Select(d => (JsonNode)new JsonObject { ["size"] = d.ToString() }).ToArray()) };
}
