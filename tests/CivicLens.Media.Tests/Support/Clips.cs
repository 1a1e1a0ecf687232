using System.Globalization;
using CivicLens.TestSupport;

namespace CivicLens.Media.Tests.Support;

/// <summary>Tiny clips cut from the real footage with the real ffmpeg, for tests of the plumbing only.</summary>
public static class Clips
{
    /// <summary>Encodes the first <paramref name="seconds"/> of vtest.avi as H.264 MP4 (yuv420p) at the given size.</summary>
    public static async Task<string> EncodeMp4Async(string directory, string name, double seconds, int width, int height, bool faststart = true)
    {
        var output = Path.Combine(directory, name);
        var args = new List<string>
        {
            "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-i", TestAssets.SampleVideo, "-t", seconds.ToString(CultureInfo.InvariantCulture),
            "-vf", $"scale={width}:{height}", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        };
        if (faststart) args.AddRange(["-movflags", "+faststart"]);
        args.Add(output);
        await Ffmpeg.RunAsync(args);
        return output;
    }

    /// <summary>
    /// Encodes <paramref name="seconds"/> of vtest.avi from <paramref name="start"/> as H.264 MPEG-TS (yuv420p) at the given
    /// size. Its timestamps start where every ffmpeg-written .ts starts (1.4 s), whatever <paramref name="start"/> is.
    /// </summary>
    public static async Task<string> EncodeTsAsync(string directory, string name, double start, double seconds, int width, int height)
    {
        var output = Path.Combine(directory, name);
        await Ffmpeg.RunAsync(
        [
            "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-ss", start.ToString(CultureInfo.InvariantCulture), "-i", TestAssets.SampleVideo, "-t", seconds.ToString(CultureInfo.InvariantCulture),
            "-vf", $"scale={width}:{height}", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", output,
        ]);
        return output;
    }

    /// <summary>Joins files byte by byte, as <c>cat a.ts b.ts &gt; ab.ts</c> does: each part keeps its own timestamps.</summary>
    public static async Task<string> ConcatenateAsync(string name, params string[] parts)
    {
        var output = Path.Combine(Path.GetDirectoryName(parts[0])!, name);
        await using var file = File.Create(output);
        foreach (var part in parts)
        {
            await using var input = File.OpenRead(part);
            await input.CopyToAsync(file);
        }

        return output;
    }

    /// <summary>Copies the first half of <paramref name="path"/>'s bytes: a file cut off mid-download or mid-write.</summary>
    public static async Task<string> TruncateToHalfAsync(string path, string name)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var output = Path.Combine(Path.GetDirectoryName(path)!, name);
        await File.WriteAllBytesAsync(output, bytes[..(bytes.Length / 2)]);
        return output;
    }
}
