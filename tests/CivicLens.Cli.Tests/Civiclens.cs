using System.Diagnostics;
using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

/// <summary>Runs the real <c>civiclens</c> program (built beside the tests) as a child process.</summary>
internal static class Civiclens
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public string[] Lines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "civiclens.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CIVICLENS_HOME"] = TestAssets.Home;

        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"civiclens {string.Join(' ', args)} did not finish in 3 minutes (it must never hang): {await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A private copy of the installed models that a test may damage.</summary>
    public static TempDirectory CopyOfInstalledModels()
    {
        var dir = TestAssets.CreateTempDirectory();
        foreach (var f in Directory.GetFiles(TestAssets.ModelsDirectory))
        {
            File.Copy(f, Path.Combine(dir.Path, Path.GetFileName(f)));
        }

        return dir;
    }
}
