namespace CivicLens.Media;

/// <summary>Finds ffmpeg and ffprobe on PATH, with an error that says how to install them.</summary>
public static class FfmpegLocator
{
    public static string Ffmpeg => Find("ffmpeg");

    public static string Ffprobe => Find("ffprobe");

    private static string Find(string tool)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }

        throw new Domain.Frames.FrameSourceException($"{tool} not found on PATH: install it with 'apt-get install ffmpeg' (or run ./run.sh).");
    }
}
