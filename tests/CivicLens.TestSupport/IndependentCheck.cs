using System.Diagnostics;
using System.Text.Json;
using CivicLens.Domain.Geometry;

namespace CivicLens.TestSupport;

/// <summary>
/// <c>tools/privacy-check.py</c>: OpenCV's Haar face and plate cascades (Debian python3-opencv and opencv-data, which
/// <c>./tools/setup.sh --test</c> installs) over image files. A method independent of the redactor's detectors, so a
/// face or plate they both miss is less likely to pass unnoticed.
/// </summary>
public static class IndependentCheck
{
    public sealed record Found(IReadOnlyList<BoxF> Faces, IReadOnlyList<BoxF> Plates);

    /// <summary>What the cascades find in each image, keyed by the path given.</summary>
    /// <param name="upscale">Also look at each image this many times larger (small CCTV faces); 1: as it is.</param>
    /// <exception cref="InvalidOperationException">The check could not run or could not read an image: never a silent pass.</exception>
    public static async Task<IReadOnlyDictionary<string, Found>> RunAsync(IReadOnlyList<string> images, int upscale = 1)
    {
        const string Python = "/usr/bin/python3";
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing: run ./tools/setup.sh --test (python3-opencv, opencv-data).");
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(TestAssets.RepoRoot, "tools", "privacy-check.py"));
        psi.ArgumentList.Add("--upscale");
        psi.ArgumentList.Add(upscale.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var image in images) psi.ArgumentList.Add(image);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tools/privacy-check.py exited {process.ExitCode} (./tools/setup.sh --test installs python3-opencv): {await stderr}\n{await stdout}");
        }

        using var json = JsonDocument.Parse(await stdout);
        var result = new Dictionary<string, Found>(StringComparer.Ordinal);
        foreach (var image in json.RootElement.EnumerateObject())
        {
            result[image.Name] = new Found(Boxes(image.Value.GetProperty("faces")), Boxes(image.Value.GetProperty("plates")));
        }

        return result;
    }

    private static List<BoxF> Boxes(JsonElement list) =>
        [.. list.EnumerateArray().Select(b => new BoxF(b.GetProperty("x").GetSingle(), b.GetProperty("y").GetSingle(), b.GetProperty("w").GetSingle(), b.GetProperty("h").GetSingle()))];
}
