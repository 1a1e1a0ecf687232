using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Conversion;

/// <summary>A tensor while converting: its static shape (batch 1), which axis is the batch, and its value if constant.</summary>
internal sealed class TfValue
{
    public TfValue(TfDataType dataType, long[] shape, int batchAxis, string? onnxName, ConstTensor? constant)
    {
        DataType = dataType;
        Shape = shape;
        BatchAxis = batchAxis;
        OnnxName = onnxName;
        Const = constant;
    }

    public TfDataType DataType { get; }
    public long[] Shape { get; }

    /// <summary>The axis that carries the batch (-1: none, e.g. a constant).</summary>
    public int BatchAxis { get; }

    /// <summary>The ONNX value name; null for a constant not yet written as an initializer.</summary>
    public string? OnnxName { get; set; }

    public ConstTensor? Const { get; }

    public static TfValue Constant(ConstTensor c) => new(c.DataType, c.Shape, -1, null, c);
}

/// <summary>One conversion run: walks the TF.js graph in topological order and builds the ONNX graph.</summary>
internal sealed partial class TfjsToOnnx
{
    private const string BatchParam = "N";
    private static readonly int[] ToNchw = [0, 3, 1, 2];
    private static readonly int[] ToNhwc = [0, 2, 3, 1];

    private readonly TfjsGraph _tf;
    private readonly TfjsConversionOptions _options;
    private readonly OnnxGraph _onnx = new() { Name = "tfjs_graph" };
    private readonly Dictionary<string, TfValue> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<TfjsNode>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fusedBiasAdds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _initializerCache = new(StringComparer.Ordinal);

    public TfjsToOnnx(TfjsGraph graph, TfjsConversionOptions options)
    {
        _tf = graph;
        _options = options;
    }

    public OnnxModel Build()
    {
        var order = TopologicalOrder();
        foreach (var node in order)
        {
            foreach (var input in node.Inputs)
            {
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
        }

        var placeholders = order.Count(n => n.Op == "Placeholder");
        if (placeholders == 0) throw new ModelException("The TF.js graph has no Placeholder (input) node.");
        // Constants first: a Conv2D looks ahead at the Add after it to fuse the bias.
        foreach (var node in order.Where(n => n.Op == "Const")) ConvertNode(node, placeholders == 1);
        foreach (var node in order.Where(n => n.Op != "Const")) ConvertNode(node, placeholders == 1);

        var outputs = ResolveOutputs();
        var protectedNames = new HashSet<string>(outputs.Select(o => o.Name), StringComparer.Ordinal);
        OnnxGraphOptimizer.Optimize(_onnx, protectedNames);

        return new OnnxModel
        {
            Graph = _onnx,
            Opset = TfjsGraphConverter.Opset,
            IrVersion = 8,
            ProducerName = "CivicLens TF.js converter",
            ProducerVersion = "1",
            DocString = _options.DocString,
            Metadata = _options.Metadata,
        };
    }

    private void ConvertNode(TfjsNode node, bool singleInput)
    {
        if (!Handlers.TryGetValue(node.Op, out var handler))
        {
            throw new ModelException(
                $"TF.js op '{node.Op}' (node '{node.Name}') is not supported by the converter. Supported ops: {string.Join(", ", SupportedOps)}.");
        }

        try
        {
            handler(this, node, singleInput);
        }
        catch (ModelException ex) when (!ex.Message.Contains($"'{node.Name}'", StringComparison.Ordinal))
        {
            throw new ModelException($"Converting {node.Op} node '{node.Name}': {ex.Message}", ex);
        }
    }

    /// <summary>Depth-first from every node in file order: a stable, deterministic topological order.</summary>
    private List<TfjsNode> TopologicalOrder()
    {
        var byName = new Dictionary<string, TfjsNode>(StringComparer.Ordinal);
        foreach (var n in _tf.Nodes)
        {
            if (!byName.TryAdd(n.Name, n)) throw new ModelException($"The TF.js graph has two nodes named '{n.Name}'.");
        }

        var order = new List<TfjsNode>(_tf.Nodes.Count);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        var stack = new Stack<(TfjsNode Node, int Next)>();
        foreach (var root in _tf.Nodes)
        {
            if (state.ContainsKey(root.Name)) continue;
            stack.Push((root, 0));
            state[root.Name] = 1;
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                if (next < node.Inputs.Count)
                {
                    stack.Push((node, next + 1));
                    var producerName = ProducerOf(node.Inputs[next]);
                    if (!byName.TryGetValue(producerName, out var producer))
                    {
                        throw new ModelException($"Node '{node.Name}' reads '{node.Inputs[next]}', which no node in the graph produces.");
                    }

                    if (state.TryGetValue(producerName, out var s))
                    {
                        if (s == 1) throw new ModelException($"The TF.js graph has a cycle through node '{producerName}'.");
                        continue;
                    }

                    state[producerName] = 1;
                    stack.Push((producer, 0));
                }
                else
                {
                    state[node.Name] = 2;
                    order.Add(node);
                }
            }
        }

        return order;
    }

    private static string ProducerOf(string tensorName)
    {
        var colon = tensorName.LastIndexOf(':');
        return colon > 0 && int.TryParse(tensorName.AsSpan(colon + 1), out _) ? tensorName[..colon] : tensorName;
    }

    private List<TfjsOutputName> ResolveOutputs()
    {
        var requested = _options.Outputs.Count > 0
            ? _options.Outputs
            : _tf.SignatureOutputs.Select(s => new TfjsOutputName(s.Key, s.Name)).ToList();
        if (requested.Count == 0)
        {
            throw new ModelException("The TF.js model has no signature outputs; name the outputs to convert in TfjsConversionOptions.Outputs.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in requested)
        {
            if (!seen.Add(output.Name)) throw new ModelException($"Output name '{output.Name}' is used twice.");
            var signature = _tf.SignatureOutputs.FirstOrDefault(s => s.Key == output.Source)
                ?? _tf.SignatureOutputs.FirstOrDefault(s => s.Name == TfjsGraph.TensorName(output.Source));
            var tensor = signature?.Name ?? TfjsGraph.TensorName(output.Source);
            if (!_values.TryGetValue(tensor, out var value))
            {
                throw new ModelException($"Output '{output.Source}' is not a tensor of the graph.");
            }

            if (value.Const is not null || value.OnnxName is null)
            {
                throw new ModelException($"Output '{output.Source}' is a constant; only computed tensors can be graph outputs.");
            }

            // The shape check that makes the conversion trustworthy: what we computed must be what TF.js declares.
            if (signature?.Shape is { } expected && !ShapeMatches(expected, value.Shape))
            {
                throw new ModelException(
                    $"Output '{output.Source}' comes out as [{Shapes.Format(value.Shape)}] but the model's signature declares [{Shapes.Format(expected)}].");
            }

            if (_options.DynamicBatch && value.BatchAxis != 0)
            {
                throw new ModelException($"Output '{output.Source}' does not keep the batch on its first axis, so the batch cannot be dynamic.");
            }

            RenameValue(value.OnnxName, output.Name);
            value.OnnxName = output.Name;
            _onnx.Outputs.Add(new OnnxValueInfo(output.Name, ToOnnxType(value.DataType), Dims(value)));
        }

        return requested.ToList();
    }

    private static bool ShapeMatches(long[] expected, long[] actual) =>
        expected.Length == actual.Length && expected.Zip(actual).All(p => p.First < 0 || p.First == p.Second);

    /// <summary>Renames a computed value everywhere (the graph output names are chosen after the nodes exist).</summary>
    private void RenameValue(string from, string to)
    {
        if (from == to) return;
        if (_onnx.Inputs.Any(i => i.Name == from) || _onnx.Initializers.Any(i => i.Name == from))
        {
            // A graph input or initializer cannot also be an output under another name: copy it.
            Add(new OnnxNode("Identity", Unique(to + "/identity"), [from], [to]));
            return;
        }

        if (_usedNames.Contains(to)) throw new ModelException($"Output name '{to}' collides with a tensor of the graph.");
        _usedNames.Add(to);
        foreach (var node in _onnx.Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++) if (node.Inputs[i] == from) node.Inputs[i] = to;
            for (var i = 0; i < node.Outputs.Count; i++) if (node.Outputs[i] == from) node.Outputs[i] = to;
        }
    }

    private List<OnnxDim> Dims(TfValue value) =>
        value.Shape.Select((d, i) => _options.DynamicBatch && i == value.BatchAxis ? OnnxDim.Symbolic(BatchParam) : OnnxDim.Fixed(d)).ToList();

    // ---- helpers shared by the op handlers ----

    private TfValue Input(TfjsNode node, int index)
    {
        if (index >= node.Inputs.Count) throw new ModelException($"Node '{node.Name}' ({node.Op}) needs at least {index + 1} inputs.");
        return _values.TryGetValue(node.Inputs[index], out var v)
            ? v
            : throw new ModelException($"Node '{node.Name}' reads '{node.Inputs[index]}', which has no value (unsupported multi-output op?).");
    }

    private ConstTensor ConstInput(TfjsNode node, int index, string what) =>
        Input(node, index).Const ?? throw new ModelException($"{node.Op} node '{node.Name}': {what} must be a constant.");

    private void SetOutput(TfjsNode node, TfValue value, int index = 0) =>
        _values[index == 0 ? node.Name : $"{node.Name}:{index}"] = value;

    private string Unique(string name)
    {
        var candidate = name;
        for (var i = 1; !_usedNames.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    private void Add(OnnxNode node) => _onnx.Nodes.Add(node);

    /// <summary>Emits a single-output node named after <paramref name="name"/>; returns the output's name.</summary>
    private string Emit(string opType, string name, IEnumerable<string> inputs, params OnnxAttribute[] attributes)
    {
        var output = Unique(name);
        Add(new OnnxNode(opType, output, inputs, [output], attributes));
        return output;
    }

    /// <summary>The ONNX name of a value, writing a constant as an initializer on first use.</summary>
    private string Ref(TfValue value, string nameHint)
    {
        if (value.OnnxName is not null) return value.OnnxName;
        var c = value.Const ?? throw new InvalidOperationException("A non-constant value without an ONNX name.");
        value.OnnxName = Initializer(nameHint, c, ToOnnxType(c.DataType));
        return value.OnnxName;
    }

    private string Initializer(string name, ConstTensor tensor, OnnxDataType type)
    {
        var unique = Unique(name);
        _onnx.Initializers.Add(new OnnxTensor(unique, type, tensor.Shape, tensor.ToRawData(type)));
        return unique;
    }

    private string Int64Initializer(string name, params long[] values) =>
        Initializer(name, ConstTensor.FromIntegers(TfDataType.Int64, [values.Length], values), OnnxDataType.Int64);

    /// <summary>One initializer per (source constant, transformation), so shared weights are stored once.</summary>
    private string CachedInitializer(string key, Func<string> create)
    {
        if (!_initializerCache.TryGetValue(key, out var name)) _initializerCache[key] = name = create();
        return name;
    }

    private static OnnxDataType ToOnnxType(TfDataType type) => type switch
    {
        TfDataType.Float32 => OnnxDataType.Float,
        TfDataType.Int32 => OnnxDataType.Int32,
        TfDataType.Int64 => OnnxDataType.Int64,
        TfDataType.Bool => OnnxDataType.Bool,
        _ => throw new ModelException($"Unsupported data type {type}."),
    };

    private static TfDataType FromTfType(string? dtype, TfjsNode node) => dtype switch
    {
        "DT_FLOAT" or null => TfDataType.Float32,
        "DT_INT32" => TfDataType.Int32,
        "DT_INT64" => TfDataType.Int64,
        "DT_BOOL" => TfDataType.Bool,
        _ => throw new ModelException($"Node '{node.Name}' has data type {dtype}, which the converter does not support."),
    };

    private static int NormalizeAxis(long axis, int rank, TfjsNode node)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ModelException($"Node '{node.Name}': axis {axis} is out of range for rank {rank}.");
        return (int)a;
    }

    private void RequireNotBatchAxis(TfjsNode node, TfValue input, int axis, string what)
    {
        if (_options.DynamicBatch && input.BatchAxis >= 0 && axis == input.BatchAxis)
        {
            throw new ModelException($"{node.Op} node '{node.Name}' {what} along the batch axis, so the batch cannot be dynamic.");
        }
    }
}
