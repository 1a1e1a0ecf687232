using System.Collections.Frozen;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Conversion;

/// <summary>The op handlers: each reads its TF inputs, propagates the shape, folds or emits ONNX nodes.</summary>
internal sealed partial class TfjsToOnnx
{
    private static readonly FrozenDictionary<string, Action<TfjsToOnnx, TfjsNode, bool>> Handlers =
        new Dictionary<string, Action<TfjsToOnnx, TfjsNode, bool>>(StringComparer.Ordinal)
        {
            ["Placeholder"] = (c, n, single) => c.Placeholder(n, single),
            ["Const"] = (c, n, _) => c.Const(n),
            ["Identity"] = (c, n, _) => c.SetOutput(n, c.Input(n, 0)),
            ["Transpose"] = (c, n, _) => c.Transpose(n),
            ["Pad"] = (c, n, _) => c.Pad(n),
            ["PadV2"] = (c, n, _) => c.Pad(n),
            ["Conv2D"] = (c, n, _) => c.Conv2D(n),
            ["MaxPool"] = (c, n, _) => c.MaxPool(n),
            ["Add"] = (c, n, _) => c.Binary(n, "Add", (a, b) => a + b, (a, b) => a + b),
            ["AddV2"] = (c, n, _) => c.Binary(n, "Add", (a, b) => a + b, (a, b) => a + b),
            ["Sub"] = (c, n, _) => c.Binary(n, "Sub", (a, b) => a - b, (a, b) => a - b),
            ["Mul"] = (c, n, _) => c.Binary(n, "Mul", (a, b) => a * b, (a, b) => a * b),
            ["LeakyRelu"] = (c, n, _) => c.Unary(n, "LeakyRelu", OnnxAttribute.Float("alpha", n.Float("alpha", 0.2f))),
            ["Sigmoid"] = (c, n, _) => c.Unary(n, "Sigmoid"),
            ["ConcatV2"] = (c, n, _) => c.Concat(n),
            ["SparseToDense"] = (c, n, _) => c.SparseToDense(n),
            ["Reshape"] = (c, n, _) => c.Reshape(n),
            ["ResizeBilinear"] = (c, n, _) => c.ResizeBilinear(n),
            ["SplitV"] = (c, n, _) => c.SplitV(n),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IReadOnlyList<string> SupportedOps { get; } = Handlers.Keys.Order(StringComparer.Ordinal).ToArray();

    private void Placeholder(TfjsNode node, bool single)
    {
        var type = FromTfType(node.TypeAttr("dtype"), node);
        var shape = node.ShapeAttr("shape")
            ?? _tf.SignatureInputs.FirstOrDefault(s => s.Name == node.Name)?.Shape
            ?? throw new ModelException($"Input '{node.Name}' has no known shape.");
        if (shape.Length == 0) throw new ModelException($"Input '{node.Name}' is a scalar; an image input is expected.");
        // The batch may be declared as -1 or 1; everything after it must be static for shape propagation.
        var staticShape = shape.Select((d, i) => i == 0 && d <= 0 ? 1 : d).ToArray();
        if (staticShape.Skip(1).Any(d => d <= 0))
        {
            throw new ModelException($"Input '{node.Name}' has shape [{Shapes.Format(shape)}]; the converter needs every dimension but the batch to be fixed.");
        }

        var name = single ? _options.InputName : node.Name;
        _usedNames.Add(name);
        var value = new TfValue(type, staticShape, 0, name, null);
        _onnx.Inputs.Add(new OnnxValueInfo(name, ToOnnxType(type), Dims(value)));
        SetOutput(node, value);
    }

    private void Const(TfjsNode node)
    {
        if (!_tf.Weights.TryGetValue(node.Name, out var tensor))
        {
            throw new ModelException($"Const node '{node.Name}' has no values in the weights manifest.");
        }

        // TF.js stores int64 constants as int32; keep the graph's declared type so ONNX gets int64 where TF had it.
        var declared = FromTfType(node.TypeAttr("dtype"), node);
        if (declared != tensor.DataType)
        {
            if (declared == TfDataType.Float32 || tensor.IsFloat)
            {
                throw new ModelException($"Const node '{node.Name}' is declared {declared} but its weights are {tensor.DataType}.");
            }

            tensor = ConstTensor.FromIntegers(declared, tensor.Shape, tensor.Integers!);
        }

        SetOutput(node, TfValue.Constant(tensor));
    }

    private void Transpose(TfjsNode node)
    {
        var x = Input(node, 0);
        var perm = ConstInput(node, 1, "the permutation").ToLongs("Transpose perm").Select(p => (int)p).ToArray();
        if (perm.Length != x.Shape.Length || perm.Order().Select((p, i) => p == i).Any(ok => !ok))
        {
            throw new ModelException($"Transpose node '{node.Name}': [{string.Join(',', perm)}] is not a permutation of rank {x.Shape.Length}.");
        }

        if (x.Const is { } c)
        {
            SetOutput(node, TfValue.Constant(c.Transpose(perm)));
            return;
        }

        var output = Emit("Transpose", node.Name, [Ref(x, node.Name + "/x")], OnnxAttribute.IntList("perm", perm.Select(p => (long)p)));
        SetOutput(node, new TfValue(x.DataType, perm.Select(p => x.Shape[p]).ToArray(), Array.IndexOf(perm, x.BatchAxis), output, null));
    }

    private void Pad(TfjsNode node)
    {
        var x = Input(node, 0);
        var paddings = ConstInput(node, 1, "the paddings").ToLongs("paddings");
        var rank = x.Shape.Length;
        if (paddings.Length != rank * 2) throw new ModelException($"Pad node '{node.Name}': paddings do not match rank {rank}.");
        if (x.Const is not null) throw new ModelException($"Pad node '{node.Name}' pads a constant; constant Pad folding is not supported.");
        var pads = new long[rank * 2];
        var shape = new long[rank];
        for (var d = 0; d < rank; d++)
        {
            pads[d] = paddings[d * 2];
            pads[rank + d] = paddings[(d * 2) + 1];
            shape[d] = x.Shape[d] + pads[d] + pads[rank + d];
            if (d == x.BatchAxis && (pads[d] != 0 || pads[rank + d] != 0)) RequireNotBatchAxis(node, x, d, "pads");
        }

        var inputs = new List<string> { Ref(x, node.Name + "/x"), Int64Initializer(node.Name + "/pads", pads) };
        if (node.Op == "PadV2")
        {
            var value = ConstInput(node, 2, "the constant value");
            if (value.Count != 1) throw new ModelException($"PadV2 node '{node.Name}': the constant value is not a scalar.");
            inputs.Add(Initializer(node.Name + "/value", value.WithShape([]), ToOnnxType(x.DataType)));
        }

        var output = Emit("Pad", node.Name, inputs, OnnxAttribute.String("mode", "constant"));
        SetOutput(node, new TfValue(x.DataType, shape, x.BatchAxis, output, null));
    }

    private void Conv2D(TfjsNode node)
    {
        var x = Input(node, 0);
        var filter = ConstInput(node, 1, "the filter");
        if (x.Shape.Length != 4 || filter.Shape.Length != 4) throw new ModelException($"Conv2D node '{node.Name}' needs a 4-D input and filter.");
        var nhwc = DataFormatIsNhwc(node);
        var (h, w, inChannels) = nhwc ? (x.Shape[1], x.Shape[2], x.Shape[3]) : (x.Shape[2], x.Shape[3], x.Shape[1]);
        var (kh, kw, filterIn, outChannels) = (filter.Shape[0], filter.Shape[1], filter.Shape[2], filter.Shape[3]);
        // A filter that sees fewer channels than the input has is a grouped convolution (ONNX's group).
        if (filterIn <= 0 || inChannels % filterIn != 0 || outChannels % (inChannels / filterIn) != 0)
        {
            throw new ModelException($"Conv2D node '{node.Name}': filter [{Shapes.Format(filter.Shape)}] does not fit an input with {inChannels} channels.");
        }

        var group = inChannels / filterIn;
        var strides = SpatialPair(node, "strides", nhwc, 1);
        var dilations = SpatialPair(node, "dilations", nhwc, 1);
        var pads = SpatialPads(node, nhwc, [h, w], [kh, kw], strides, dilations);
        var outH = ((h + pads[0] + pads[2] - (((kh - 1) * dilations[0]) + 1)) / strides[0]) + 1;
        var outW = ((w + pads[1] + pads[3] - (((kw - 1) * dilations[1]) + 1)) / strides[1]) + 1;
        if (outH <= 0 || outW <= 0) throw new ModelException($"Conv2D node '{node.Name}': the output would be empty.");

        var weightName = node.Inputs[1];
        var weights = CachedInitializer(weightName + "#oihw",
            () => Initializer(weightName + "/oihw", filter.Transpose([3, 2, 0, 1]), OnnxDataType.Float));
        var inputs = new List<string> { NchwInput(x, node), weights };
        var bias = FusableBias(node, outChannels, nhwc);
        if (bias is not null) inputs.Add(Initializer(bias.Value.Node.Name + "/bias", bias.Value.Bias.WithShape([outChannels]), OnnxDataType.Float));

        var attrs = new List<OnnxAttribute>
        {
            OnnxAttribute.IntList("kernel_shape", [kh, kw]),
            OnnxAttribute.IntList("strides", strides),
            OnnxAttribute.IntList("dilations", dilations),
        };
        if (pads.Any(p => p != 0)) attrs.Add(OnnxAttribute.IntList("pads", pads));
        if (group > 1) attrs.Add(OnnxAttribute.Int("group", group));
        var conv = Emit("Conv", node.Name, inputs, [.. attrs]);
        var result = NchwOutput(conv, node, nhwc, x, outChannels, outH, outW);
        SetOutput(node, result);
        if (bias is not null)
        {
            // The Add that carried the bias now just forwards the Conv's output.
            _fusedBiasAdds.Add(bias.Value.Node.Name);
        }
    }

    private void MaxPool(TfjsNode node)
    {
        var x = Input(node, 0);
        if (x.Shape.Length != 4) throw new ModelException($"MaxPool node '{node.Name}' needs a 4-D input.");
        var nhwc = DataFormatIsNhwc(node);
        var (h, w, channels) = nhwc ? (x.Shape[1], x.Shape[2], x.Shape[3]) : (x.Shape[2], x.Shape[3], x.Shape[1]);
        var kernel = SpatialPair(node, "ksize", nhwc, null);
        var strides = SpatialPair(node, "strides", nhwc, null);
        var pads = SpatialPads(node, nhwc, [h, w], kernel, strides, [1, 1]);
        var outH = ((h + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
        var outW = ((w + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
        var attrs = new List<OnnxAttribute> { OnnxAttribute.IntList("kernel_shape", kernel), OnnxAttribute.IntList("strides", strides) };
        if (pads.Any(p => p != 0)) attrs.Add(OnnxAttribute.IntList("pads", pads));
        var pool = Emit("MaxPool", node.Name, [NchwInput(x, node)], [.. attrs]);
        SetOutput(node, NchwOutput(pool, node, nhwc, x, channels, outH, outW));
    }

    private void Binary(TfjsNode node, string onnxOp, Func<float, float, float> onFloats, Func<long, long, long> onIntegers)
    {
        if (_fusedBiasAdds.Contains(node.Name))
        {
            SetOutput(node, Input(node, 0));
            return;
        }

        var a = Input(node, 0);
        var b = Input(node, 1);
        if (a.Const is { } ca && b.Const is { } cb)
        {
            SetOutput(node, TfValue.Constant(ConstTensor.Broadcast(ca, cb, onFloats, onIntegers)));
            return;
        }

        var shape = Shapes.Broadcast(a.Shape, b.Shape);
        var batchAxis = BroadcastBatchAxis(node, a, b, shape.Length);
        var output = Emit(onnxOp, node.Name, [Ref(a, node.Name + "/a"), Ref(b, node.Name + "/b")]);
        SetOutput(node, new TfValue(a.DataType, shape, batchAxis, output, null));
    }

    private int BroadcastBatchAxis(TfjsNode node, TfValue a, TfValue b, int rank)
    {
        var fromA = a.BatchAxis < 0 ? -1 : a.BatchAxis + (rank - a.Shape.Length);
        var fromB = b.BatchAxis < 0 ? -1 : b.BatchAxis + (rank - b.Shape.Length);
        if (_options.DynamicBatch && fromA >= 0 && fromB >= 0 && fromA != fromB)
        {
            throw new ModelException($"{node.Op} node '{node.Name}' combines tensors whose batch axes differ, so the batch cannot be dynamic.");
        }

        return fromA >= 0 ? fromA : fromB;
    }

    private void Unary(TfjsNode node, string onnxOp, params OnnxAttribute[] attributes)
    {
        var x = Input(node, 0);
        if (x.Const is not null) throw new ModelException($"{node.Op} node '{node.Name}' on a constant is not supported.");
        var output = Emit(onnxOp, node.Name, [Ref(x, node.Name + "/x")], attributes);
        SetOutput(node, new TfValue(x.DataType, x.Shape, x.BatchAxis, output, null));
    }

    private void Concat(TfjsNode node)
    {
        var count = (int)node.Int("N", node.Inputs.Count - 1);
        if (count < 1 || node.Inputs.Count != count + 1) throw new ModelException($"ConcatV2 node '{node.Name}' has {node.Inputs.Count} inputs for N={count}.");
        var parts = Enumerable.Range(0, count).Select(i => Input(node, i)).ToList();
        var rank = parts[0].Shape.Length;
        var axis = NormalizeAxis(ConstInput(node, count, "the axis").ToLongs("axis")[0], rank, node);
        var shape = (long[])parts[0].Shape.Clone();
        shape[axis] = 0;
        foreach (var p in parts)
        {
            if (p.Shape.Length != rank || Enumerable.Range(0, rank).Any(d => d != axis && p.Shape[d] != parts[0].Shape[d]))
            {
                throw new ModelException($"ConcatV2 node '{node.Name}': input shapes [{string.Join("] [", parts.Select(q => Shapes.Format(q.Shape)))}] do not match off axis {axis}.");
            }

            shape[axis] += p.Shape[axis];
        }

        var batchAxis = parts.Select(p => p.BatchAxis).FirstOrDefault(b => b >= 0, -1);
        RequireNotBatchAxis(node, parts.First(p => p.BatchAxis == batchAxis), axis, "concatenates");
        var output = Emit("Concat", node.Name, parts.Select((p, i) => Ref(p, $"{node.Name}/in{i}")), OnnxAttribute.Int("axis", axis));
        SetOutput(node, new TfValue(parts[0].DataType, shape, batchAxis, output, null));
    }

    /// <summary>onnx-tf emits SparseToDense over constants (a shape offset of zeros): fold it, refuse anything else.</summary>
    private void SparseToDense(TfjsNode node)
    {
        var indices = ConstInput(node, 0, "sparse_indices").ToLongs("sparse_indices");
        var outputShape = ConstInput(node, 1, "output_shape").ToLongs("output_shape");
        var values = ConstInput(node, 2, "sparse_values");
        var fill = ConstInput(node, 3, "default_value");
        var rank = outputShape.Length;
        var count = (int)Shapes.Count(outputShape);
        var strides = Shapes.Strides(outputShape);
        var entries = rank == 0 ? indices.Length : indices.Length / Math.Max(rank, 1);
        if (values.Count != 1 && values.Count != entries)
        {
            throw new ModelException($"SparseToDense node '{node.Name}': {values.Count} values for {entries} indices.");
        }

        long Flat(int e)
        {
            long flat = 0;
            for (var d = 0; d < rank; d++)
            {
                var i = indices[(e * rank) + d];
                if (i < 0 || i >= outputShape[d]) throw new ModelException($"SparseToDense node '{node.Name}': index {i} out of range.");
                flat += i * strides[d];
            }

            return flat;
        }

        ConstTensor result;
        if (fill.IsFloat)
        {
            var data = Enumerable.Repeat(fill.Floats![0], count).ToArray();
            for (var e = 0; e < entries; e++) data[Flat(e)] = values.Floats![values.Count == 1 ? 0 : e];
            result = ConstTensor.FromFloats(outputShape, data);
        }
        else
        {
            var data = Enumerable.Repeat(fill.Integers![0], count).ToArray();
            for (var e = 0; e < entries; e++) data[Flat(e)] = values.Integers![values.Count == 1 ? 0 : e];
            result = ConstTensor.FromIntegers(fill.DataType, outputShape, data);
        }

        SetOutput(node, TfValue.Constant(result));
    }

    private void Reshape(TfjsNode node)
    {
        var x = Input(node, 0);
        var target = ConstInput(node, 1, "the target shape").ToLongs("Reshape shape");
        var total = Shapes.Count(x.Shape);
        var known = target.Where(d => d != -1).Aggregate(1L, (a, d) => a * d);
        if (target.Count(d => d == -1) > 1 || target.Any(d => d < -1 || d == 0) || known == 0 || total % known != 0)
        {
            throw new ModelException($"Reshape node '{node.Name}': cannot reshape [{Shapes.Format(x.Shape)}] to [{Shapes.Format(target)}].");
        }

        var shape = target.Select(d => d == -1 ? total / known : d).ToArray();
        if (Shapes.Count(shape) != total) throw new ModelException($"Reshape node '{node.Name}': [{Shapes.Format(x.Shape)}] has {total} elements, [{Shapes.Format(target)}] needs {Shapes.Count(shape)}.");
        if (x.Const is { } c)
        {
            SetOutput(node, TfValue.Constant(c.WithShape(shape)));
            return;
        }

        var onnxTarget = (long[])target.Clone();
        var batchAxis = -1;
        if (x.BatchAxis >= 0)
        {
            if (x.BatchAxis == 0 && shape[0] == x.Shape[0])
            {
                batchAxis = 0;
                // ONNX Reshape's 0 copies the input's dimension: the batch stays whatever N the caller sends.
                if (_options.DynamicBatch) onnxTarget[0] = 0;
            }
            else if (_options.DynamicBatch)
            {
                throw new ModelException($"Reshape node '{node.Name}' to [{Shapes.Format(target)}] does not keep the batch on axis 0, so the batch cannot be dynamic.");
            }
        }

        var output = Emit("Reshape", node.Name, [Ref(x, node.Name + "/x"), Int64Initializer(node.Name + "/shape", onnxTarget)]);
        SetOutput(node, new TfValue(x.DataType, shape, batchAxis, output, null));
    }

    private void ResizeBilinear(TfjsNode node)
    {
        var x = Input(node, 0);
        var size = ConstInput(node, 1, "the size").ToLongs("size");
        if (x.Shape.Length != 4 || size.Length != 2 || size.Any(s => s <= 0))
        {
            throw new ModelException($"ResizeBilinear node '{node.Name}' needs an NHWC input and a [height, width] size.");
        }

        var alignCorners = node.Bool("align_corners", false);
        var halfPixel = node.Bool("half_pixel_centers", false);
        // TF's half_pixel_centers is ONNX's half_pixel (both sample at (out + 0.5) / scale - 0.5, clamped at the edges).
        var mode = alignCorners ? "align_corners" : halfPixel ? "half_pixel" : "asymmetric";
        var resize = Emit("Resize", node.Name,
            [NchwInput(x, node), "", "", Int64Initializer(node.Name + "/sizes", size)],
            OnnxAttribute.String("mode", "linear"),
            OnnxAttribute.String("coordinate_transformation_mode", mode),
            OnnxAttribute.IntList("axes", [2, 3]));
        SetOutput(node, NchwOutput(resize, node, true, x, x.Shape[3], size[0], size[1]));
    }

    private void SplitV(TfjsNode node)
    {
        var x = Input(node, 0);
        var sizes = ConstInput(node, 1, "size_splits").ToLongs("size_splits");
        var axis = NormalizeAxis(ConstInput(node, 2, "split_dim").ToLongs("split_dim")[0], x.Shape.Length, node);
        var count = (int)node.Int("num_split", sizes.Length);
        if (count != sizes.Length) throw new ModelException($"SplitV node '{node.Name}': num_split {count} but {sizes.Length} sizes.");
        var knownTotal = sizes.Where(s => s >= 0).Sum();
        var resolved = sizes.Select(s => s == -1 ? x.Shape[axis] - knownTotal : s).ToArray();
        if (sizes.Count(s => s == -1) > 1 || resolved.Any(s => s < 0) || resolved.Sum() != x.Shape[axis])
        {
            throw new ModelException($"SplitV node '{node.Name}': sizes [{Shapes.Format(sizes)}] do not split {x.Shape[axis]} along axis {axis}.");
        }

        RequireNotBatchAxis(node, x, axis, "splits");
        var outputs = Enumerable.Range(0, count).Select(i => Unique(i == 0 ? node.Name : $"{node.Name}:{i}")).ToList();
        Add(new OnnxNode("Split", node.Name, [Ref(x, node.Name + "/x"), Int64Initializer(node.Name + "/split", resolved)], outputs,
            [OnnxAttribute.Int("axis", axis)]));
        for (var i = 0; i < count; i++)
        {
            var shape = (long[])x.Shape.Clone();
            shape[axis] = resolved[i];
            SetOutput(node, new TfValue(x.DataType, shape, x.BatchAxis, outputs[i], null), i);
        }
    }

    // ---- layout helpers ----

    private static bool DataFormatIsNhwc(TfjsNode node) => node.String("data_format", "NHWC") switch
    {
        "NHWC" => true,
        "NCHW" => false,
        var f => throw new ModelException($"{node.Op} node '{node.Name}' has data_format '{f}'; NHWC and NCHW are supported."),
    };

    /// <summary>The (height, width) entries of a 4-element TF list attribute such as strides.</summary>
    private static long[] SpatialPair(TfjsNode node, string attr, bool nhwc, long? fallback)
    {
        var list = node.IntList(attr, fallback is { } f ? [f, f, f, f] : null);
        if (list.Length != 4) throw new ModelException($"{node.Op} node '{node.Name}': '{attr}' has {list.Length} entries, expected 4.");
        var (batch, channel) = nhwc ? (list[0], list[3]) : (list[0], list[1]);
        if (batch != 1 || channel != 1) throw new ModelException($"{node.Op} node '{node.Name}': '{attr}' over batch or channels is not supported.");
        return nhwc ? [list[1], list[2]] : [list[2], list[3]];
    }

    /// <summary>ONNX pads [top, left, bottom, right] for TF's VALID / SAME / EXPLICIT padding.</summary>
    private static long[] SpatialPads(TfjsNode node, bool nhwc, long[] size, long[] kernel, long[] strides, long[] dilations)
    {
        switch (node.String("padding"))
        {
            case "VALID":
                return [0, 0, 0, 0];
            case "SAME":
                {
                    var pads = new long[4];
                    for (var i = 0; i < 2; i++)
                    {
                        var outSize = (size[i] + strides[i] - 1) / strides[i];
                        var total = Math.Max(((outSize - 1) * strides[i]) + (((kernel[i] - 1) * dilations[i]) + 1) - size[i], 0);
                        pads[i] = total / 2;          // TF puts the odd pixel at the end
                        pads[i + 2] = total - (total / 2);
                    }

                    return pads;
                }
            case "EXPLICIT":
                {
                    var e = node.IntList("explicit_paddings");
                    if (e.Length != 8) throw new ModelException($"{node.Op} node '{node.Name}': explicit_paddings has {e.Length} entries, expected 8.");
                    var (hAxis, wAxis) = nhwc ? (1, 2) : (2, 3);
                    return [e[hAxis * 2], e[wAxis * 2], e[(hAxis * 2) + 1], e[(wAxis * 2) + 1]];
                }
            case var p:
                throw new ModelException($"{node.Op} node '{node.Name}' has padding '{p}'; VALID, SAME and EXPLICIT are supported.");
        }
    }

    /// <summary>The input as NCHW: a Transpose for NHWC data (the optimiser cancels it against the graph's own).</summary>
    private string NchwInput(TfValue x, TfjsNode node)
    {
        if (x.Const is not null) throw new ModelException($"{node.Op} node '{node.Name}' on a constant input is not supported.");
        var nhwc = node.Op == "ResizeBilinear" || DataFormatIsNhwc(node);
        return nhwc
            ? Emit("Transpose", node.Name + "/to_nchw", [x.OnnxName!], OnnxAttribute.IntList("perm", ToNchw.Select(p => (long)p)))
            : x.OnnxName!;
    }

    private TfValue NchwOutput(string onnxOutput, TfjsNode node, bool nhwc, TfValue input, long channels, long height, long width)
    {
        var n = input.Shape[0];
        if (!nhwc) return new TfValue(input.DataType, [n, channels, height, width], input.BatchAxis, onnxOutput, null);
        var back = Emit("Transpose", node.Name + "/to_nhwc", [onnxOutput], OnnxAttribute.IntList("perm", ToNhwc.Select(p => (long)p)));
        return new TfValue(input.DataType, [n, height, width, channels], input.BatchAxis, back, null);
    }

    /// <summary>A Conv2D whose only consumer adds a per-channel constant: that constant becomes the Conv's bias.</summary>
    private (TfjsNode Node, ConstTensor Bias)? FusableBias(TfjsNode conv, long outChannels, bool nhwc)
    {
        if (!_consumers.TryGetValue(conv.Name, out var consumers) || consumers.Count != 1) return null;
        var add = consumers[0];
        if (add.Op is not ("Add" or "AddV2") || add.Inputs.Count != 2 || add.Inputs[0] != conv.Name) return null;
        if (!_values.TryGetValue(add.Inputs[1], out var other) || other.Const is not { IsFloat: true } bias) return null;
        var perChannel = nhwc
            ? bias.Shape.Length >= 1 && bias.Shape[^1] == outChannels && bias.Shape[..^1].All(d => d == 1)
            : bias.Shape.Length is 3 or 4 && bias.Shape[^3] == outChannels && bias.Shape[^2] == 1 && bias.Shape[^1] == 1 && (bias.Shape.Length == 3 || bias.Shape[0] == 1);
        return perChannel ? (add, bias) : null;
    }
}
