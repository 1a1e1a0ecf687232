using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

public class ModelsCommandTests
{
    [Fact]
    public async Task Verify_InstalledModels_Succeeds()
    {
        var r = await Civiclens.RunAsync("models", "verify");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("models ok", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_TamperedModel_ExitsOneNamingIt()
    {
        using var dir = Civiclens.CopyOfInstalledModels();

        var model = Path.Combine(dir.Path, "blazeface-back-256.onnx");
        var bytes = await File.ReadAllBytesAsync(model);
        bytes[bytes.Length / 2] ^= 0xFF; // one flipped byte
        await File.WriteAllBytesAsync(model, bytes);

        var r = await Civiclens.RunAsync("models", "verify", "--models", dir.Path);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains("blazeface-back-256.onnx", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_OverADamagedModel_RepairsItFromTheVerifiedCache()
    {
        using var dir = Civiclens.CopyOfInstalledModels();

        var model = Path.Combine(dir.Path, "blazeface-back-256.onnx");
        await File.WriteAllTextAsync(model, "damaged");

        var r = await Civiclens.RunAsync("models", "install", "--models", dir.Path);

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(new FileInfo(Path.Combine(TestAssets.ModelsDirectory, "blazeface-back-256.onnx")).Length, new FileInfo(model).Length);
        Assert.Equal(0, (await Civiclens.RunAsync("models", "verify", "--models", dir.Path)).ExitCode);
    }
}
