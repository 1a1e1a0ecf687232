using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CivicLens.Domain.Detection;
using CivicLens.Inference.Models;
using CivicLens.Inference.Tests.Models;
using CivicLens.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CivicLens.Inference.Tests.Conversion;

/// <summary>Converts the original NanoDet TF.js files once for the class and opens an ONNX Runtime session.</summary>
public sealed class ConvertedNanoDet : IAsyncLifetime
{
    public const int Size = 416;

    public byte[] Onnx { get; private set; } = [];
    public byte[] TfjsJson { get; private set; } = [];
    public byte[] TfjsBin { get; private set; } = [];
    public InferenceSession Session { get; private set; } = null!;

    /// <summary>vtest.avi at t=20 s scaled to 416x416 by ffmpeg, as RGB/255 NCHW (see tools/reference/nanodet-reference.mjs).</summary>
    public float[] Frame { get; private set; } = [];

    public JsonNode Reference { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (TfjsJson, TfjsBin) = await TestPackages.NanoDetTfjsAsync();
        Onnx = DefaultModels.ConvertNanoDet(TfjsJson, TfjsBin);
        Session = new InferenceSession(Onnx);
        var fixtures = Path.Combine(TestAssets.RepoRoot, "tests", "CivicLens.Inference.Tests", "Fixtures");
        Reference = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(fixtures, "nanodet-reference.json")))!;
        var rgb = new byte[Size * Size * 3];
        await using (var gzip = new GZipStream(File.OpenRead(Path.Combine(fixtures, "vtest-20s-416.rgb.gz")), CompressionMode.Decompress))
        {
            await gzip.ReadExactlyAsync(rgb);
        }

        Frame = new float[3 * Size * Size];
        for (var i = 0; i < Size * Size; i++)
        {
            for (var c = 0; c < 3; c++) Frame[(c * Size * Size) + i] = rgb[(i * 3) + c] / 255f;
        }
    }

    public Task DisposeAsync()
    {
        Session?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Runs a batch of NCHW frames; returns each output flattened, by name.</summary>
    public Dictionary<string, float[]> Run(params float[][] frames)
    {
        var input = new DenseTensor<float>([frames.Length, 3, Size, Size]);
        for (var b = 0; b < frames.Length; b++) frames[b].CopyTo(input.Buffer.Span[(b * frames[b].Length)..]);
        using var results = Session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }
}

/// <summary>
/// The converted model against the ORIGINAL TF.js model run by TensorFlow.js's pure-JS CPU backend
/// (tools/reference/nanodet-reference.mjs wrote Fixtures/nanodet-reference.json; it never touches the converter).
/// On vtest.avi at 20 s the reference holds 10 detections: 8 persons (scores 0.51-0.75: the walkway pedestrians,
/// with the pair by the building's door as three overlapping boxes) and the white van parked at the top right,
/// once as truck (0.371) and once as bus (0.351); class-wise NMS keeps both.
/// </summary>
public sealed class NanoDetReferenceTests : IClassFixture<ConvertedNanoDet>
{
    private static readonly string[] OutputNames = ["cls_8", "cls_16", "cls_32", "box_8", "box_16", "box_32"];
    private readonly ConvertedNanoDet _model;

    public NanoDetReferenceTests(ConvertedNanoDet model) => _model = model;

    [Fact]
    public void Convert_NanoDet_IsDeterministicAndMatchesPinnedSha256()
    {
        var again = DefaultModels.ConvertNanoDet(_model.TfjsJson, _model.TfjsBin);

        Assert.Equal(_model.Onnx, again);
        var sha = Convert.ToHexStringLower(SHA256.HashData(_model.Onnx));
        Assert.True(sha == DefaultModels.NanoDetOnnxSha256,
            $"The converter now writes SHA-256 {sha}, but DefaultModels.NanoDetOnnxSha256 pins {DefaultModels.NanoDetOnnxSha256}. " +
            "If the change is intended and the reference tests pass, update the pin.");
    }

    [Fact]
    public void Session_Signature_HasDynamicBatchInputAndNamedStrideOutputs()
    {
        Assert.Equal("input", _model.Session.InputMetadata.Keys.Single());
        Assert.Equal([-1, 3, 416, 416], _model.Session.InputMetadata["input"].Dimensions);
        Assert.Equal(OutputNames, _model.Session.OutputMetadata.Keys);
        var shapes = _model.Session.OutputMetadata.Values.Select(m => string.Join(',', m.Dimensions)).ToArray();
        Assert.Equal(["-1,2704,80", "-1,676,80", "-1,169,80", "-1,2704,44", "-1,676,44", "-1,169,44"], shapes);
    }

    [Fact]
    public void Run_VtestFrame_RawOutputsMatchTfjsReference()
    {
        var outputs = _model.Run(_model.Frame);
        var every = (int)_model.Reference["sampleEvery"]!;
        Assert.Equal(53, every);

        foreach (var name in OutputNames)
        {
            var reference = _model.Reference["outputs"]![name]!;
            var actual = outputs[name];
            Assert.Equal(reference["shape"]!.AsArray().Aggregate(1, (n, d) => n * (int)d!), actual.Length);
            var samples = reference["samples"]!.AsArray();
            Assert.Equal((actual.Length + every - 1) / every, samples.Count);
            for (var k = 0; k < samples.Count; k++)
            {
                var expected = (float)samples[k]!;
                Assert.True(Math.Abs(actual[k * every] - expected) <= 2e-3f,
                    $"{name}[{k * every}] = {actual[k * every]}, TF.js reference {expected}");
            }

            foreach (var top in reference["top"]?.AsArray() ?? [])
            {
                var index = (int)top!["index"]!;
                var expected = (float)top["value"]!;
                Assert.True(Math.Abs(actual[index] - expected) <= 2e-3f, $"{name} top score at {index} = {actual[index]}, TF.js reference {expected}");
            }
        }
    }

    [Fact]
    public void Run_VtestFrame_FindsEveryReferenceDetection()
    {
        var reference = _model.Reference["detections"]!.AsArray().Select(ParseDetection).ToList();
        Assert.Equal(8, reference.Count(d => d.ClassId == 0));
        Assert.Contains(reference, d => ModelLabels.Coco80[d.ClassId] is "truck" or "car" && d.Y2 < 100 && d.X1 > 300);

        var detections = ReferenceDecoder.Decode(_model.Run(_model.Frame), 80, ConvertedNanoDet.Size,
            (float)_model.Reference["scoreThreshold"]!, (float)_model.Reference["nmsIou"]!);

        foreach (var expected in reference)
        {
            var match = detections.Where(d => d.ClassId == expected.ClassId).OrderByDescending(d => d.IoU(expected)).FirstOrDefault();
            Assert.True(match is not null && match.IoU(expected) > 0.9f && Math.Abs(match.Score - expected.Score) < 2e-3f,
                $"Reference detection {expected} ({ModelLabels.Coco80[expected.ClassId]}) not found; converted model gave: {string.Join("; ", detections)}");
        }

        // And nothing clearly above the threshold that the reference does not have.
        foreach (var extra in detections.Where(d => d.Score >= 0.36f))
        {
            Assert.Contains(reference, r => r.ClassId == extra.ClassId && r.IoU(extra) > 0.9f);
        }
    }

    [Fact]
    public void Run_BatchOfThree_EachRowEqualsItsSingleRun()
    {
        var frames = new[] { _model.Frame, Mirrored(_model.Frame), _model.Frame.Select(v => v * 0.6f).ToArray() };

        var batched = _model.Run(frames);

        for (var b = 0; b < frames.Length; b++)
        {
            var single = _model.Run(frames[b]);
            foreach (var name in OutputNames)
            {
                var n = single[name].Length;
                Assert.Equal(n * frames.Length, batched[name].Length);
                var row = batched[name].AsSpan(b * n, n);
                var maxDiff = 0f;
                for (var i = 0; i < n; i++) maxDiff = Math.Max(maxDiff, Math.Abs(row[i] - single[name][i]));
                Assert.True(maxDiff < 1e-4f, $"batch row {b} of {name} differs from its single run by {maxDiff}");
            }
        }

        // The rows really are different frames (a batch that repeated row 0 would pass the loop above only by luck).
        Assert.NotEqual(batched["cls_8"].AsSpan(0, 2704 * 80).ToArray(), batched["cls_8"].AsSpan(2704 * 80, 2704 * 80).ToArray());
    }

    private static RefDetection ParseDetection(JsonNode? node)
    {
        var b = node!["box"]!.AsArray().Select(v => (float)v!).ToArray();
        return new RefDetection((int)node["classId"]!, (float)node["score"]!, b[0], b[1], b[2], b[3]);
    }

    private static float[] Mirrored(float[] chw)
    {
        const int s = ConvertedNanoDet.Size;
        var result = new float[chw.Length];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < s; y++)
            {
                for (var x = 0; x < s; x++) result[(c * s * s) + (y * s) + x] = chw[(c * s * s) + (y * s) + (s - 1 - x)];
            }
        }

        return result;
    }
}
