using CivicLens.Domain.Detection;
using CivicLens.Inference.Faces;
using CivicLens.TestSupport;

namespace CivicLens.Inference.Tests.Faces;

public sealed class FaceModelLoadingTests : IDisposable
{
    private readonly TempDirectory _temp = TestAssets.CreateTempDirectory();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Ctor_MissingFile_ThrowsModelExceptionNamingPathAndInstallCommand()
    {
        var path = Path.Combine(_temp.Path, "nope.onnx");

        var ex = Assert.Throws<ModelException>(() => new FaceDetector(path, new FaceDetectorOptions()));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("civiclens models install", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctor_RandomBytes_ThrowsModelExceptionSayingCorrupt()
    {
        var path = Path.Combine(_temp.Path, "random.onnx");
        var bytes = new byte[4096];
        new Random(42).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<ModelException>(() => new FaceDetector(path, new FaceDetectorOptions()));

        Assert.Contains("corrupt or not an ONNX model", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public void Ctor_TruncatedBlazeFace_ThrowsModelExceptionSayingCorrupt()
    {
        var path = Path.Combine(_temp.Path, "truncated.onnx");
        var full = File.ReadAllBytes(TestAssets.BlazeFaceModel);
        File.WriteAllBytes(path, full.AsSpan(0, full.Length / 3).ToArray());

        var ex = Assert.Throws<ModelException>(() => new FaceDetector(path, new FaceDetectorOptions()));

        Assert.Contains("corrupt or not an ONNX model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctor_NchwImageModel_ThrowsModelExceptionDescribingInput()
    {
        var path = Path.Combine(_temp.Path, "nchw.onnx");
        TinyOnnx.WriteIdentity(path, 1, 3, 256, 256);

        var ex = Assert.Throws<ModelException>(() => new FaceDetector(path, new FaceDetectorOptions()));

        Assert.Contains("[1,3,256,256]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("NHWC image input [1,S,S,3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctor_RightInputButNoDetectionHeads_ThrowsModelExceptionDescribingOutputs()
    {
        var path = Path.Combine(_temp.Path, "identity.onnx");
        TinyOnnx.WriteIdentity(path, 1, 256, 256, 3);

        var ex = Assert.Throws<ModelException>(() => new FaceDetector(path, new FaceDetectorOptions()));

        Assert.Contains("y Float [1,256,256,3]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("scores [1,512,1], [1,384,1] and boxes [1,512,16], [1,384,16]", ex.Message, StringComparison.Ordinal);
    }
}
