using System.Diagnostics;
using CivicLens.Media;

namespace CivicLens.TestSupport;

/// <summary>Runs the machine's ffmpeg to make test clips (cut, joined, tampered copies of the real footage).</summary>
public static class Ffmpeg
{
    /// <exception cref="InvalidOperationException">ffmpeg failed; the message holds its arguments and stderr.</exception>
    public static async Task RunAsync(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var psi = new ProcessStartInfo(FfmpegLocator.Ffmpeg) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg could not be started.");
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} failed ({p.ExitCode}): {err}");
    }

    /// <summary>Mean absolute difference of two equally sized pixel buffers (0 = identical frames).</summary>
    public static double MeanAbsoluteDifference(byte[] a, byte[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length) throw new ArgumentException($"Buffers differ in size: {a.Length} and {b.Length}.", nameof(b));
        long sum = 0;
        for (var i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return (double)sum / a.Length;
    }
}
