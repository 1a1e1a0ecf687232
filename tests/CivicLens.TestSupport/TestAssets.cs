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

    public static string Require(string path) =>
        File.Exists(path)
            ? path
            : throw new FileNotFoundException(
                $"Test asset '{path}' is missing. Run ./test.sh (or 'tools/install-assets.sh') once to install footage and models.", path);

    /// <summary>A fresh temporary directory removed when disposed.</summary>
    public static TempDirectory CreateTempDirectory() => new();

    // Test binaries may be built outside the tree (--artifacts-path), so the working directory is tried too.
    private static string FindRepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CivicLens.slnx")))
            {
                dir = dir.Parent;
            }

            if (dir is not null) return dir.FullName;
        }

        throw new InvalidOperationException(
            "Could not find the repository root (CivicLens.slnx) above the test binaries or the working directory.");
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
