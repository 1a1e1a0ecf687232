using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CivicLens.Domain.Frames;

namespace CivicLens.Media;

/// <summary>What ffprobe says about a source's first video stream.</summary>
public sealed record MediaInfo(int Width, int Height, double? FramesPerSecond, string Codec, TimeSpan? Duration);

/// <summary>Runs ffprobe with a deadline, so a dead camera cannot hang start-up.</summary>
public static class MediaProbe
{
    public static async Task<MediaInfo> ProbeAsync(SourceUri source, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(FfmpegLocator.Ffprobe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-v", "error", "-hide_banner", "-of", "json", "-show_streams", "-show_format", "-select_streams", "v:0" })
        {
            psi.ArgumentList.Add(a);
        }

        if (source.IsRtsp)
        {
            psi.ArgumentList.Add("-rtsp_transport");
            psi.ArgumentList.Add("tcp");
        }

        if (!source.IsFile)
        {
            psi.ArgumentList.Add("-timeout"); // socket I/O timeout, microseconds
            psi.ArgumentList.Add(((long)timeout.TotalMicroseconds).ToString(CultureInfo.InvariantCulture));
        }

        psi.ArgumentList.Add(source.Value);
        using var process = Process.Start(psi) ?? throw new FrameSourceException("ffprobe could not be started.");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(stdout, stderr);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            FfmpegProcess.Kill(process);
            throw new FrameSourceException($"{source.Display} did not answer within {timeout.TotalSeconds:0.#} s.");
        }
        catch (OperationCanceledException)
        {
            FfmpegProcess.Kill(process);
            throw;
        }

        var error = FirstLine(await stderr);
        if (process.ExitCode != 0)
        {
            throw new FrameSourceException(source.IsFile
                ? $"{source.Display} is not a readable video: {error}"
                : $"{source.Display} cannot be opened: {error}");
        }

        return Parse(await stdout, source);
    }

    internal static MediaInfo Parse(string json, SourceUri source)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("streams", out var streams) || streams.GetArrayLength() == 0)
        {
            throw new FrameSourceException($"{source.Display} is not a video: it has no video stream.");
        }

        var s = streams[0];
        var width = s.TryGetProperty("width", out var w) ? w.GetInt32() : 0;
        var height = s.TryGetProperty("height", out var h) ? h.GetInt32() : 0;
        if (width <= 0 || height <= 0)
        {
            throw new FrameSourceException($"{source.Display} is not a video: its video stream has no picture size.");
        }

        var codec = s.TryGetProperty("codec_name", out var c) ? c.GetString() ?? "?" : "?";
        // Still images (jpeg, png) probe as one-frame "video"; they are not camera sources.
        if (codec is "mjpeg" or "png" or "bmp" or "gif" or "webp" &&
            (!doc.RootElement.TryGetProperty("format", out var f0) || f0.GetProperty("format_name").GetString()?.Contains("pipe", StringComparison.Ordinal) == true
             || f0.GetProperty("format_name").GetString()?.Contains("image2", StringComparison.Ordinal) == true))
        {
            throw new FrameSourceException($"{source.Display} is not a video: it is a still image ({codec}).");
        }

        double? fps = s.TryGetProperty("avg_frame_rate", out var r) ? Rate(r.GetString()) : null;
        fps ??= s.TryGetProperty("r_frame_rate", out var r2) ? Rate(r2.GetString()) : null;
        TimeSpan? duration = doc.RootElement.TryGetProperty("format", out var fmt) && fmt.TryGetProperty("duration", out var d)
            && double.TryParse(d.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var secs)
            ? TimeSpan.FromSeconds(secs) : null;
        return new MediaInfo(width, height, fps, codec, duration);
    }

    private static double? Rate(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var parts = text.Split('/');
        if (parts.Length == 2 && double.TryParse(parts[0], CultureInfo.InvariantCulture, out var n)
            && double.TryParse(parts[1], CultureInfo.InvariantCulture, out var d) && d > 0 && n > 0)
        {
            return n / d;
        }

        return null;
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "unknown error";
        return SourceUri.Redact(line);
    }
}
