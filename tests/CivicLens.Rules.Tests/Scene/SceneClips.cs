using System.Globalization;
using CivicLens.TestSupport;

namespace CivicLens.Rules.Tests.Scene;

/// <summary>
/// Clips cut from the real footage (vtest.avi, 768x576) with the real ffmpeg, each with one real-world change made
/// by a filter: a photographed object put down on the ground, the lens blacked out, the view shifted, the focus lost,
/// the light dropping. Encoded at 5 fps (the rate the tests sample at) so that making and reading them is quick.
/// </summary>
internal static class SceneClips
{
    /// <summary>Where the dropped object lands (top-left, stream pixels) and its size: on the lawn, left of the lamp post.</summary>
    public const int ObjectX = 200;

    public const int ObjectY = 400;

    public const int ObjectWidth = 60;

    public const int ObjectHeight = 76;

    /// <summary>The dog and the porch boards under it, cropped from the sample still: a dark, furry heap with pale edges.</summary>
    private const string ObjectCrop = "crop=150:190:145:300,scale=60:76,setsar=1";

    /// <summary>
    /// vtest.avi with the object put down at <paramref name="from"/> s and, if given, taken away at <paramref name="until"/> s;
    /// with <paramref name="darkenFrom"/>, the whole view also gets 30 % darker from then on (a cloud).
    /// </summary>
    public static Task<string> ObjectDroppedAsync(string directory, double from, double? until, double seconds, double? darkenFrom = null)
    {
        var when = until is { } u ? $"between(t,{N(from)},{N(u)})" : $"gte(t,{N(from)})";
        var filter = $"[1:v]{ObjectCrop}[obj];[v][obj]overlay={ObjectX}:{ObjectY}:enable='{when}'";
        if (darkenFrom is { } d) filter += $",{Darken(d)}";
        return MakeAsync(directory, "object.mp4", seconds, filter, TestAssets.Still("dog.jpg"));
    }

    /// <summary>
    /// vtest.avi with the object on the lawn from <paramref name="from"/> s (until <paramref name="until"/> s, if
    /// given), then the whole view disturbed by <paramref name="view"/> (<see cref="Cover"/>, <see cref="Knock"/>).
    /// </summary>
    public static Task<string> ObjectThenViewAsync(string directory, string name, double from, double? until, double seconds, string view)
    {
        var when = until is { } u ? $"between(t,{N(from)},{N(u)})" : $"gte(t,{N(from)})";
        return MakeAsync(directory, name, seconds, $"[1:v]{ObjectCrop}[obj];[v][obj]overlay={ObjectX}:{ObjectY}:enable='{when}',{view}", TestAssets.Still("dog.jpg"));
    }

    /// <summary>The plain footage, first <paramref name="seconds"/> s: the lawn as it is, nothing on it.</summary>
    public static Task<string> PlainAsync(string directory, double seconds) => MakeAsync(directory, "plain.mp4", seconds, "[v]null");

    /// <summary>A filter chain for <see cref="ObjectThenViewAsync"/>: the lens blacked out from <paramref name="from"/> to <paramref name="until"/> s.</summary>
    public static string Cover(double from, double until) => $"drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,{N(from)},{N(until)})'";

    /// <summary>A filter chain for <see cref="ObjectThenViewAsync"/>: the camera knocked 60 px right and 20 px down meanwhile.</summary>
    public static string Knock(double from, double until) =>
        $"split[a][b];[b]crop=708:556:0:0,pad=768:576:60:20:black[s];[a][s]overlay=0:0:enable='between(t,{N(from)},{N(until)})'";

    /// <summary>The lens blacked out (a cap, spray paint) from <paramref name="from"/> to <paramref name="until"/> s.</summary>
    public static Task<string> CoveredAsync(string directory, double from, double until, double seconds) =>
        MakeAsync(directory, "covered.mp4", seconds, $"[v]drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,{N(from)},{N(until)})'");

    /// <summary>The camera knocked aside: the picture moves 60 px right and 20 px down (black where nothing is seen).</summary>
    public static Task<string> MovedAsync(string directory, double from, double until, double seconds) =>
        MakeAsync(directory, "moved.mp4", seconds,
            $"[v]split[a][b];[b]crop=708:556:0:0,pad=768:576:60:20:black[s];[a][s]overlay=0:0:enable='between(t,{N(from)},{N(until)})'");

    /// <summary>Focus lost (a smeared or defocused lens): a 9-pixel box blur.</summary>
    public static Task<string> DefocusedAsync(string directory, double from, double until, double seconds) =>
        MakeAsync(directory, "defocused.mp4", seconds, $"[v]boxblur=4:1:enable='between(t,{N(from)},{N(until)})'");

    /// <summary>A cloud in front of the sun: every channel scaled by 0.7 from <paramref name="from"/> s on.</summary>
    private static string Darken(double from) => $"colorchannelmixer=rr=0.7:gg=0.7:bb=0.7:enable='gte(t,{N(from)})'";

    private static async Task<string> MakeAsync(string directory, string name, double seconds, string filter, string? still = null)
    {
        var output = Path.Combine(directory, name);
        var args = new List<string> { "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", TestAssets.SampleVideo };
        // One decoded still: overlay repeats its last frame for as long as the video runs.
        if (still is not null) args.AddRange(["-i", still]);
        args.AddRange([
            "-t", N(seconds), "-filter_complex", "[0:v]fps=5[v];" + filter, "-an",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", output,
        ]);
        await Ffmpeg.RunAsync(args);
        return output;
    }

    private static string N(double v) => v.ToString(CultureInfo.InvariantCulture);
}
