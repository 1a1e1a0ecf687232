namespace CivicLens.TestSupport;

/// <summary>
/// Locates the real footage, stills and models the tests run on. <c>./test.sh</c> installs them into
/// <c>$CIVICLENS_HOME</c> (default <c>&lt;repo&gt;/.civiclens</c>); a missing asset fails the test with
/// the command that installs it, never a silent skip.
/// </summary>
public static class TestAssets
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Home
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("CIVICLENS_HOME");
            return !string.IsNullOrWhiteSpace(env) ? Path.GetFullPath(env) : Path.Combine(RepoRoot, ".civiclens");
        }
    }

    public static string ModelsDirectory => Path.Combine(Home, "models");
    public static string SamplesDirectory => Path.Combine(Home, "samples");

    /// <summary>vtest.avi: 768x576, 10 fps, 79.5 s overhead walkway (Debian opencv-doc).</summary>
    public static string SampleVideo => Require(Path.Combine(SamplesDirectory, "vtest.avi"));

    public static string Still(string name) => Require(Path.Combine(SamplesDirectory, name));

    public static string NanoDetModel => Require(Path.Combine(ModelsDirectory, "nanodet-g-416.onnx"));
    public static string BlazeFaceModel => Require(Path.Combine(ModelsDirectory, "blazeface-back-256.onnx"));

    /// <summary>
    /// samples/vtest.yaml (the sample district) copied into <paramref name="directory"/> with its camera's footage
    /// named by absolute path (the file says <c>${CIVICLENS_HOME}</c>, which the test process need not have set).
    /// </summary>
    public static async Task<string> SampleConfigAsync(string directory)
    {
        var config = Path.Combine(directory, "vtest.yaml");
        var yaml = await File.ReadAllTextAsync(Path.Combine(RepoRoot, "samples", "vtest.yaml"));
        await File.WriteAllTextAsync(config, yaml.Replace("${CIVICLENS_HOME}/samples/vtest.avi", SampleVideo, StringComparison.Ordinal));
        return config;
    }

    public static string Require(string path) =>
        File.Exists(path)
            ? path
            : throw new FileNotFoundException(
                $"Test asset '{path}' is missing. Run ./tools/setup.sh --test (or ./test.sh) once to install footage and models.", path);

    /// <summary>A fresh temporary directory removed when disposed.</summary>
    public static TempDirectory CreateTempDirectory() => new();

    // Stamped at build time, so it holds wherever the test binaries were built to.
    private static string FindRepoRoot()
    {
        var stamped = typeof(TestAssets).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CivicLens.RepoRoot")?.Value;
        if (stamped is not null && File.Exists(Path.Combine(stamped, "CivicLens.slnx"))) return stamped;
        throw new InvalidOperationException($"The repository root stamped into the test build ({stamped}) holds no CivicLens.slnx.");
    }
}

public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "civiclens-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process under test may still hold a file; the OS temp cleaner gets it later.
        }
    }
}
