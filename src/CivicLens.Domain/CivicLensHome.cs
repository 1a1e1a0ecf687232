namespace CivicLens.Domain;

/// <summary>
/// Where CivicLens keeps its installed models, sample footage and data on this machine.
/// <c>CIVICLENS_HOME</c> overrides the default (<c>$XDG_DATA_HOME/civiclens</c>, else <c>~/.local/share/civiclens</c>).
/// </summary>
public sealed record CivicLensHome(string Root)
{
    public const string EnvironmentVariable = "CIVICLENS_HOME";

    public string ModelsDirectory => Path.Combine(Root, "models");
    public string SamplesDirectory => Path.Combine(Root, "samples");
    public string CacheDirectory => Path.Combine(Root, "cache");

    /// <summary>The bundled sample footage (vtest.avi from Debian's opencv-doc).</summary>
    public string SampleVideo => Path.Combine(SamplesDirectory, "vtest.avi");

    public static CivicLensHome Resolve()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return new CivicLensHome(Path.GetFullPath(fromEnv));
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var baseDir = !string.IsNullOrWhiteSpace(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return new CivicLensHome(Path.Combine(baseDir, "civiclens"));
    }
}
