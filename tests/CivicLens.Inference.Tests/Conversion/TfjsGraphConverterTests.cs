using System.Text.Json.Nodes;
using CivicLens.Domain.Detection;
using CivicLens.Inference.Conversion;
using CivicLens.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CivicLens.Inference.Tests.Conversion;

public sealed class TfjsGraphConverterTests
{
    private static readonly TfjsConversionOptions YOutput = new() { Outputs = [new("y:0", "y")] };

    private static byte[] Convert(TfjsGraphBuilder g, TfjsConversionOptions? options = null)
    {
        var weights = g.Weights();
        return TfjsGraphConverter.Convert(g.Json(), name => name == g.WeightsFileName ? weights : throw new FileNotFoundException(name), options ?? YOutput);
    }

    /// <summary>
    /// NHWC input [N,3,3,4], a 3x3 filter that sees 2 of the 4 channels (so group 2), SAME padding and a
    /// per-channel bias Add: exercises the group inference, NHWC transposes, SAME pads, bias fusion and
    /// the dynamic batch against a direct computation.
    /// </summary>
    [Fact]
    public void Convert_GroupedNhwcConvWithSamePaddingAndBias_MatchesDirectComputation()
    {
        const int h = 3, w = 3, c = 4, fin = 2, fout = 4;
        var filter = Enumerable.Range(0, 3 * 3 * fin * fout).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        float[] bias = [0.5f, -0.25f, 1f, 0f];
        var g = new TfjsGraphBuilder()
            .Placeholder("x", 1, h, w, c)
            .Const("f", [3, 3, fin, fout], filter)
            .Const("b", [fout], bias)
            .Node("Conv2D", "conv", ["x", "f"], new JsonObject
            {
                ["strides"] = TfjsGraphBuilder.Ints(1, 1, 1, 1),
                ["padding"] = TfjsGraphBuilder.Str("SAME"),
                ["data_format"] = TfjsGraphBuilder.Str("NHWC"),
                ["dilations"] = TfjsGraphBuilder.Ints(1, 1, 1, 1),
            })
            .Node("AddV2", "y", ["conv", "b"])
            .Output("y:0", 1, h, w, fout);

        using var session = new InferenceSession(Convert(g));

        var input = new DenseTensor<float>([2, h, w, c]);
        for (var i = 0; i < input.Length; i++) input.Buffer.Span[i] = MathF.Cos(i * 0.11f);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var y = results.Single().AsTensor<float>();
        Assert.Equal([2, h, w, fout], y.Dimensions.ToArray());
        for (var n = 0; n < 2; n++)
        {
            for (var oy = 0; oy < h; oy++)
            {
                for (var ox = 0; ox < w; ox++)
                {
                    for (var o = 0; o < fout; o++)
                    {
                        var group = o / (fout / (c / fin));
                        var expected = bias[o];
                        for (var ky = 0; ky < 3; ky++)
                        {
                            for (var kx = 0; kx < 3; kx++)
                            {
                                int iy = oy + ky - 1, ix = ox + kx - 1;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                for (var i = 0; i < fin; i++)
                                {
                                    expected += input[n, iy, ix, (group * fin) + i] * filter[(((((ky * 3) + kx) * fin) + i) * fout) + o];
                                }
                            }
                        }

                        Assert.True(Math.Abs(y[n, oy, ox, o] - expected) < 1e-4f, $"y[{n},{oy},{ox},{o}] = {y[n, oy, ox, o]}, expected {expected}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Convert_UnsupportedOp_ThrowsNamingOpAndNode()
    {
        var g = new TfjsGraphBuilder()
            .Placeholder("x", 1, 4)
            .Node("Erf", "net/gelu/Erf", ["x"])
            .Node("Identity", "y", ["net/gelu/Erf"])
            .Output("y:0", 1, 4);

        var ex = Assert.Throws<ModelException>(() => Convert(g));

        Assert.Contains("op 'Erf'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("node 'net/gelu/Erf'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Conv2D", ex.Message, StringComparison.Ordinal); // lists what is supported
    }

    [Fact]
    public void Convert_WeightsShorterThanManifest_ThrowsNamingFileAndWeight()
    {
        var g = new TfjsGraphBuilder().Placeholder("x", 1, 4).Const("k", [4], [1, 2, 3, 4]).Node("Mul", "y", ["x", "k"]).Output("y:0", 1, 4);
        var json = g.Json();
        var truncated = g.Weights()[..8];

        var ex = Assert.Throws<ModelException>(() => TfjsGraphConverter.Convert(json, _ => truncated, YOutput));

        Assert.Contains("weights.bin", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'k'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_SignatureDeclaresOtherShape_ThrowsWithBothShapes()
    {
        var g = new TfjsGraphBuilder().Placeholder("x", 1, 4).Node("Sigmoid", "y", ["x"]).Output("y:0", 1, 5);

        var ex = Assert.Throws<ModelException>(() => Convert(g));

        Assert.Contains("[1,4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[1,5]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Convert_ReshapeThatMovesTheBatch_RefusedWithDynamicBatchAndRunsStatic()
    {
        var g = new TfjsGraphBuilder()
            .Placeholder("x", 1, 4)
            .ConstInt("shape", [2], [2, 2])
            .Node("Reshape", "y", ["x", "shape"])
            .Output("y:0", 2, 2);

        var ex = Assert.Throws<ModelException>(() => Convert(g));
        Assert.Contains("Reshape node 'y'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("batch cannot be dynamic", ex.Message, StringComparison.Ordinal);

        using var session = new InferenceSession(Convert(g, YOutput with { DynamicBatch = false }));
        Assert.Equal([1, 4], session.InputMetadata["input"].Dimensions);
        var input = new DenseTensor<float>(new float[] { 1, 2, 3, 4 }, [1, 4]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        Assert.Equal([1f, 2, 3, 4], results.Single().AsTensor<float>().ToArray());
        Assert.Equal([2, 2], results.Single().AsTensor<float>().Dimensions.ToArray());
    }

    [Fact]
    public void Convert_WeightsPathOutsideModelFolder_Throws()
    {
        using var temp = TestAssets.CreateTempDirectory();
        var g = new TfjsGraphBuilder { WeightsFileName = "../elsewhere.bin" }.Placeholder("x", 1, 4).Const("k", [4], [1, 2, 3, 4])
            .Node("Add", "y", ["x", "k"]).Output("y:0", 1, 4);
        var path = Path.Combine(temp.Path, "model.json");
        File.WriteAllBytes(path, g.Json());

        var ex = Assert.Throws<ModelException>(() => TfjsGraphConverter.Convert(path, YOutput));

        Assert.Contains("outside the model's folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProtoWriter_Varints_EncodeLikeProtobuf()
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, 300);
        w.WriteInt64(2, -1);
        w.WriteString(3, "hi");

        Assert.Equal([0x08, 0xAC, 0x02, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x1A, 0x02, (byte)'h', (byte)'i'], w.ToArray());
    }
}
