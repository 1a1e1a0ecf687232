namespace CivicLens.Inference.Conversion;

/// <summary>TensorProto.DataType values (onnx.proto) the converter emits.</summary>
internal enum OnnxDataType
{
    Float = 1,
    Int32 = 6,
    Int64 = 7,
    Bool = 9,
}

/// <summary>A dimension of a graph input/output: a fixed size or a symbolic name such as "N".</summary>
internal readonly record struct OnnxDim(long Value, string? Param)
{
    public static OnnxDim Fixed(long value) => new(value, null);
    public static OnnxDim Symbolic(string name) => new(0, name);
    public override string ToString() => Param ?? Value.ToString();
}

internal sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, IReadOnlyList<OnnxDim> Shape);

/// <summary>An initializer; <see cref="RawData"/> is little-endian, row-major (TensorProto.raw_data).</summary>
internal sealed record OnnxTensor(string Name, OnnxDataType DataType, long[] Dims, byte[] RawData);

internal enum OnnxAttributeKind
{
    Float = 1,
    Int = 2,
    String = 3,
    Floats = 6,
    Ints = 7,
}

internal sealed record OnnxAttribute(string Name, OnnxAttributeKind Kind, float F = 0, long I = 0, string? S = null, long[]? Ints = null, float[]? Floats = null)
{
    public static OnnxAttribute Int(string name, long value) => new(name, OnnxAttributeKind.Int, I: value);
    public static OnnxAttribute Float(string name, float value) => new(name, OnnxAttributeKind.Float, F: value);
    public static OnnxAttribute String(string name, string value) => new(name, OnnxAttributeKind.String, S: value);
    public static OnnxAttribute IntList(string name, IEnumerable<long> values) => new(name, OnnxAttributeKind.Ints, Ints: values.ToArray());
}

internal sealed class OnnxNode
{
    public OnnxNode(string opType, string name, IEnumerable<string> inputs, IEnumerable<string> outputs, IEnumerable<OnnxAttribute>? attributes = null)
    {
        OpType = opType;
        Name = name;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
        Attributes = attributes?.ToList() ?? [];
    }

    public string OpType { get; }
    public string Name { get; }
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public List<OnnxAttribute> Attributes { get; }

    public OnnxAttribute? Attribute(string name) => Attributes.Find(a => a.Name == name);

    public void SetAttribute(OnnxAttribute attribute)
    {
        Attributes.RemoveAll(a => a.Name == attribute.Name);
        Attributes.Add(attribute);
    }

    public override string ToString() => $"{OpType} '{Name}'";
}

internal sealed class OnnxGraph
{
    public string Name { get; init; } = "graph";
    public List<OnnxNode> Nodes { get; } = [];
    public List<OnnxTensor> Initializers { get; } = [];
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
}

internal sealed class OnnxModel
{
    public required OnnxGraph Graph { get; init; }
    public long IrVersion { get; init; } = 8;
    public long Opset { get; init; } = 18;
    public string ProducerName { get; init; } = "CivicLens";
    public string ProducerVersion { get; init; } = "1";
    public string? DocString { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];
}

/// <summary>Writes <see cref="OnnxModel"/> as an ONNX protobuf file (field numbers from onnx.proto).</summary>
internal static class OnnxSerializer
{
    public static byte[] Serialize(OnnxModel model)
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, model.IrVersion);                    // ModelProto.ir_version
        w.WriteString(2, model.ProducerName);                // producer_name
        w.WriteString(3, model.ProducerVersion);             // producer_version
        if (model.DocString is not null) w.WriteString(6, model.DocString);
        w.WriteMessage(7, g => WriteGraph(g, model.Graph));   // graph
        w.WriteMessage(8, o =>                               // opset_import: OperatorSetIdProto
        {
            o.WriteString(1, "");                            // domain "" = ai.onnx
            o.WriteInt64(2, model.Opset);                    // version
        });
        foreach (var (key, value) in model.Metadata)
        {
            w.WriteMessage(14, e =>                          // metadata_props: StringStringEntryProto
            {
                e.WriteString(1, key);
                e.WriteString(2, value);
            });
        }

        return w.ToArray();
    }

    private static void WriteGraph(ProtoWriter w, OnnxGraph graph)
    {
        foreach (var node in graph.Nodes) w.WriteMessage(1, n => WriteNode(n, node));          // GraphProto.node
        w.WriteString(2, graph.Name);                                                          // name
        foreach (var t in graph.Initializers) w.WriteMessage(5, x => WriteTensor(x, t));       // initializer
        foreach (var v in graph.Inputs) w.WriteMessage(11, x => WriteValueInfo(x, v));         // input
        foreach (var v in graph.Outputs) w.WriteMessage(12, x => WriteValueInfo(x, v));        // output
    }

    private static void WriteNode(ProtoWriter w, OnnxNode node)
    {
        foreach (var i in node.Inputs) w.WriteString(1, i);     // NodeProto.input
        foreach (var o in node.Outputs) w.WriteString(2, o);    // output
        w.WriteString(3, node.Name);                            // name
        w.WriteString(4, node.OpType);                          // op_type
        foreach (var a in node.Attributes) w.WriteMessage(5, x => WriteAttribute(x, a));
    }

    private static void WriteAttribute(ProtoWriter w, OnnxAttribute a)
    {
        w.WriteString(1, a.Name);                               // AttributeProto.name
        w.WriteInt32(20, (int)a.Kind);                          // type
        switch (a.Kind)
        {
            case OnnxAttributeKind.Float:
                w.WriteFloat(2, a.F);                           // f
                break;
            case OnnxAttributeKind.Int:
                w.WriteInt64(3, a.I);                           // i
                break;
            case OnnxAttributeKind.String:
                w.WriteString(4, a.S!);                         // s
                break;
            case OnnxAttributeKind.Floats:
                foreach (var f in a.Floats!) w.WriteFloat(7, f);  // floats
                break;
            case OnnxAttributeKind.Ints:
                foreach (var i in a.Ints!) w.WriteInt64(8, i);    // ints
                break;
            default:
                throw new InvalidOperationException($"Unsupported attribute kind {a.Kind}.");
        }
    }

    private static void WriteTensor(ProtoWriter w, OnnxTensor t)
    {
        foreach (var d in t.Dims) w.WriteInt64(1, d);           // TensorProto.dims
        w.WriteInt32(2, (int)t.DataType);                       // data_type
        w.WriteString(8, t.Name);                               // name
        w.WriteBytes(9, t.RawData);                             // raw_data
    }

    private static void WriteValueInfo(ProtoWriter w, OnnxValueInfo v)
    {
        w.WriteString(1, v.Name);                               // ValueInfoProto.name
        w.WriteMessage(2, type =>                               // type: TypeProto
            type.WriteMessage(1, tensor =>                      // tensor_type: TypeProto.Tensor
            {
                tensor.WriteInt32(1, (int)v.ElementType);       // elem_type
                tensor.WriteMessage(2, shape =>                 // shape: TensorShapeProto
                {
                    foreach (var d in v.Shape)
                    {
                        shape.WriteMessage(1, dim =>            // dim: Dimension
                        {
                            if (d.Param is not null) dim.WriteString(2, d.Param);   // dim_param
                            else dim.WriteInt64(1, d.Value);                       // dim_value
                        });
                    }
                });
            }));
    }
}
