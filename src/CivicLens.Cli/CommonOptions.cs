using System.CommandLine;
using CivicLens.Domain;

namespace CivicLens.Cli;

internal static class CommonOptions
{
    public static Option<string> ModelsDirectory() => new("--models")
    {
        Description = "Folder of installed models (default: $CIVICLENS_HOME/models)",
        DefaultValueFactory = _ => CivicLensHome.Resolve().ModelsDirectory,
    };

    public static Option<bool> Verbose() => new("--verbose", "-v") { Description = "Log debug detail to stderr" };
}
