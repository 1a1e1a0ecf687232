using System.Buffers.Binary;

namespace CivicLens.Inference.Conversion;

/// <summary>
/// Peephole passes over the converted graph. The TF graph flips between NCHW and NHWC around every Conv;
/// cancelling those transposes and folding zero/-inf Pads into Conv/MaxPool leaves a plain NCHW network,
/// which loads faster and is easier to read than relying on the runtime to clean it up.
/// </summary>
internal static class OnnxGraphOptimizer
{
    public static void Optimize(OnnxGraph graph, IReadOnlySet<string> outputs)
    {
        CancelTransposes(graph, outputs);
        RemoveDeadNodes(graph, outputs);
        FusePads(graph, outputs);
        RemoveDeadNodes(graph, outputs);
        RemoveUnusedInitializers(graph);
    }

    /// <summary>Transpose(Transpose(x, p1), p2): identity when the perms compose to one, else one Transpose.</summary>
    private static void CancelTransposes(OnnxGraph graph, IReadOnlySet<string> outputs)
    {
        var producers = Producers(graph);
        var replaced = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (replaced.TryGetValue(node.Inputs[i], out var r)) node.Inputs[i] = r;
            }

            if (node.OpType != "Transpose" || !producers.TryGetValue(node.Inputs[0], out var inner) || inner.OpType != "Transpose") continue;
            var outer = node.Attribute("perm")!.Ints!;
            var first = inner.Attribute("perm")!.Ints!;
            var composed = outer.Select(p => first[p]).ToArray();
            if (composed.Select((p, i) => p == i).All(x => x) && !outputs.Contains(node.Outputs[0]))
            {
                replaced[node.Outputs[0]] = inner.Inputs[0];
            }
            else
            {
                node.Inputs[0] = inner.Inputs[0];
                node.SetAttribute(OnnxAttribute.IntList("perm", composed));
            }
        }

        foreach (var output in graph.Outputs.Where(o => replaced.ContainsKey(o.Name)))
        {
            throw new InvalidOperationException($"Graph output '{output.Name}' was optimised away.");
        }
    }

    /// <summary>
    /// Pad(x) feeding only Convs (zero padding) or only MaxPools (-inf padding, which MaxPool's own pads mean)
    /// over the spatial axes of an NCHW tensor: move the padding into the consumers' pads.
    /// </summary>
    private static void FusePads(OnnxGraph graph, IReadOnlySet<string> outputs)
    {
        var initializers = graph.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = Consumers(graph);
        foreach (var pad in graph.Nodes.Where(n => n.OpType == "Pad").ToList())
        {
            var output = pad.Outputs[0];
            if (outputs.Contains(output) || pad.Attribute("mode") is { S: not "constant" }) continue;
            if (pad.Inputs.Count > 3 && pad.Inputs[3] != "") continue; // axes input: keep it simple
            if (!initializers.TryGetValue(pad.Inputs[1], out var padsTensor) || padsTensor.DataType != OnnxDataType.Int64) continue;
            var pads = ReadInt64(padsTensor);
            if (pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 || pads.Any(p => p < 0)) continue;
            float value = 0;
            if (pad.Inputs.Count > 2 && pad.Inputs[2] != "")
            {
                if (!initializers.TryGetValue(pad.Inputs[2], out var v) || v.DataType != OnnxDataType.Float || v.RawData.Length != 4) continue;
                value = BinaryPrimitives.ReadSingleLittleEndian(v.RawData);
            }

            if (!consumers.TryGetValue(output, out var users) || users.Count == 0) continue;
            var target = value == 0 ? "Conv" : float.IsNegativeInfinity(value) ? "MaxPool" : null;
            if (target is null || users.Any(u => u.OpType != target || u.Inputs[0] != output || u.Inputs.Skip(1).Contains(output))) continue;
            if (users.Any(u => u.Attribute("auto_pad") is { S: not "NOTSET" })) continue;

            foreach (var user in users)
            {
                var existing = user.Attribute("pads")?.Ints ?? [0, 0, 0, 0];
                long[] merged = [existing[0] + pads[2], existing[1] + pads[3], existing[2] + pads[6], existing[3] + pads[7]];
                user.SetAttribute(OnnxAttribute.IntList("pads", merged));
                user.Inputs[0] = pad.Inputs[0];
            }
        }
    }

    private static void RemoveDeadNodes(OnnxGraph graph, IReadOnlySet<string> outputs)
    {
        var live = new HashSet<string>(outputs, StringComparer.Ordinal);
        var keep = new bool[graph.Nodes.Count];
        for (var i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!node.Outputs.Any(live.Contains)) continue;
            keep[i] = true;
            foreach (var input in node.Inputs) live.Add(input);
        }

        var kept = graph.Nodes.Where((_, i) => keep[i]).ToList();
        graph.Nodes.Clear();
        graph.Nodes.AddRange(kept);
    }

    private static void RemoveUnusedInitializers(OnnxGraph graph)
    {
        var used = new HashSet<string>(graph.Nodes.SelectMany(n => n.Inputs), StringComparer.Ordinal);
        graph.Initializers.RemoveAll(t => !used.Contains(t.Name));
    }

    private static Dictionary<string, OnnxNode> Producers(OnnxGraph graph)
    {
        var map = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var o in node.Outputs) map[o] = node;
        }

        return map;
    }

    private static Dictionary<string, List<OnnxNode>> Consumers(OnnxGraph graph)
    {
        var map = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs.Distinct())
            {
                if (!map.TryGetValue(input, out var list)) map[input] = list = [];
                list.Add(node);
            }
        }

        return map;
    }

    private static long[] ReadInt64(OnnxTensor tensor)
    {
        var values = new long[tensor.RawData.Length / 8];
        for (var i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(tensor.RawData.AsSpan(i * 8));
        return values;
    }
}
