using System.Buffers;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using Microsoft.Extensions.Logging;
using SkiaSharp;

namespace CivicLens.Privacy.Redaction;

/// <summary>A box drawn on a snapshot, with a short caption such as "person #3 0.72".</summary>
public readonly record struct SnapshotAnnotation(BoxF Box, string Caption);

/// <summary>
/// Writes redacted, annotated JPEG snapshots. The frame is copied, redacted, then encoded; if redaction
/// fails the snapshot is dropped and counted, never written unredacted. Files appear atomically (temp + rename)
/// so a crash or a full disk never leaves a partial image.
/// </summary>
public sealed partial class SnapshotWriter
{
    private static readonly Meter Meter = new("CivicLens.Privacy");
    private static readonly Counter<long> Written = Meter.CreateCounter<long>("civiclens.snapshots.written", "{snapshot}", "Redacted evidence snapshots written");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("civiclens.snapshots.dropped", "{snapshot}", "Evidence snapshots not written (disk full, encoder failure)");

    private readonly FrameRedactor _redactor;
    private readonly ILogger _logger;
    private readonly int _quality;
    private long _dropped;
    private long _written;

    public SnapshotWriter(string directory, FrameRedactor redactor, ILogger logger, int jpegQuality = 85)
    {
        Directory = directory;
        _redactor = redactor;
        _logger = logger;
        _quality = jpegQuality;
        EnsureWritable(directory);
    }

    public string Directory { get; }

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public long WrittenCount => Interlocked.Read(ref _written);

    /// <summary>
    /// Redacts a copy of <paramref name="frame"/> exactly as a stored snapshot is redacted and encodes it as JPEG, in
    /// memory, never touching disk: into <paramref name="live"/> (the live view) and/or into
    /// <paramref name="scene"/> (the zone editor's scene: the same, then every detected box filled whole with flat
    /// grey, so what is left is the street, not who or what was on it). One copy and one redaction serve both.
    /// False when redaction failed (nothing was written; counted as a dropped snapshot).
    /// </summary>
    public bool TryRender(Frame frame, IReadOnlyList<Detection> detections, Stream? live, Stream? scene = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(detections);
        var w = frame.Width;
        var h = frame.Height;
        var rgb = ArrayPool<byte>.Shared.Rent(w * h * 3);
        var rgba = ArrayPool<byte>.Shared.Rent(w * h * 4);
        try
        {
            if (!TryRedactCopy(frame, detections, rgb, rgba)) return false;
            if (live is not null) Encode(rgba, w, h, [], live);
            if (scene is not null)
            {
                MaskWhole(rgba.AsSpan(0, w * h * 4), w, h, detections);
                Encode(rgba, w, h, [], scene);
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>The grey every box of a scene frame is filled with.</summary>
    public const byte SceneMask = 128;

    /// <summary>Fills each box, grown by a tenth of its size on every side, with <see cref="SceneMask"/> grey.</summary>
    public static void MaskWhole(Span<byte> rgba, int width, int height, IReadOnlyList<Detection> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        foreach (var d in boxes)
        {
            var padX = d.Box.Width * 0.1f;
            var padY = d.Box.Height * 0.1f;
            var x0 = Math.Clamp((int)MathF.Floor(d.Box.X - padX), 0, width);
            var x1 = Math.Clamp((int)MathF.Ceiling(d.Box.Right + padX), 0, width);
            var y0 = Math.Clamp((int)MathF.Floor(d.Box.Y - padY), 0, height);
            var y1 = Math.Clamp((int)MathF.Ceiling(d.Box.Bottom + padY), 0, height);
            if (x1 <= x0) continue;
            for (var y = y0; y < y1; y++)
            {
                var row = rgba.Slice((y * width + x0) * 4, (x1 - x0) * 4);
                for (var i = 0; i < row.Length; i += 4)
                {
                    row[i] = SceneMask;
                    row[i + 1] = SceneMask;
                    row[i + 2] = SceneMask;
                    row[i + 3] = 255;
                }
            }
        }
    }

    /// <summary>Copies the frame into <paramref name="rgb"/>, redacts it and converts it to <paramref name="rgba"/>; false (dropped and counted) when redaction failed.</summary>
    private bool TryRedactCopy(Frame frame, IReadOnlyList<Detection> detections, byte[] rgb, byte[] rgba)
    {
        var (w, h) = (frame.Width, frame.Height);
        var pixels = rgb.AsSpan(0, w * h * 3);
        frame.Pixels.AsSpan(0, w * h * 3).CopyTo(pixels);
        try
        {
            _redactor.Redact(pixels, w, h, detections);
        }
        catch (Exception ex)
        {
            Drop("redaction failed", ex);
            return false;
        }

        ToRgba(pixels, rgba.AsSpan(0, w * h * 4));
        return true;
    }

    /// <summary>
    /// Redacts a copy of <paramref name="frame"/>, draws the annotations and writes <paramref name="fileName"/>.
    /// Returns the full path, or null when the snapshot was dropped (reason logged and counted).
    /// </summary>
    public string? TryWrite(Frame frame, IReadOnlyList<Detection> detections, IReadOnlyList<SnapshotAnnotation> annotations, string fileName)
    {
        var w = frame.Width;
        var h = frame.Height;
        var rgb = ArrayPool<byte>.Shared.Rent(w * h * 3);
        var rgba = ArrayPool<byte>.Shared.Rent(w * h * 4);
        var path = Path.Combine(Directory, fileName);
        var temp = path + ".tmp";
        try
        {
            if (!TryRedactCopy(frame, detections, rgb, rgba)) return null;
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.WriteThrough))
            {
                Encode(rgba, w, h, annotations, file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            Interlocked.Increment(ref _written);
            Written.Add(1);
            return path;
        }
        catch (IOException ex)
        {
            TryDelete(temp);
            Drop("the snapshot folder cannot be written (disk full or removed?)", ex);
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            TryDelete(temp);
            Drop("the snapshot folder is not writable", ex);
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    private void Encode(byte[] rgba, int w, int h, IReadOnlyList<SnapshotAnnotation> annotations, Stream output)
    {
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var bitmap = new SKBitmap();
            if (!bitmap.InstallPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
            {
                throw new InvalidOperationException("Skia refused the pixel buffer.");
            }

            using (var canvas = new SKCanvas(bitmap))
            using (var stroke = new SKPaint { Color = new SKColor(255, 200, 0), Style = SKPaintStyle.Stroke, StrokeWidth = 2, IsAntialias = true })
            using (var label = new SKPaint { Color = new SKColor(255, 200, 0), IsAntialias = true })
            using (var font = new SKFont { Size = 13 })
            using (var back = new SKPaint { Color = new SKColor(0, 0, 0, 170) })
            {
                foreach (var a in annotations)
                {
                    var r = new SKRect(a.Box.X, a.Box.Y, a.Box.Right, a.Box.Bottom);
                    canvas.DrawRect(r, stroke);
                    var tw = font.MeasureText(a.Caption);
                    var ty = Math.Max(14, a.Box.Y - 2);
                    canvas.DrawRect(new SKRect(a.Box.X, ty - 13, a.Box.X + tw + 4, ty + 2), back);
                    canvas.DrawText(a.Caption, a.Box.X + 2, ty - 1, SKTextAlign.Left, font, label);
                }
            }

            using var image = SKImage.FromBitmap(bitmap);
            using var data = image.Encode(SKEncodedImageFormat.Jpeg, _quality)
                ?? throw new IOException("JPEG encoding failed.");
            data.SaveTo(output);
        }
        finally
        {
            handle.Free();
        }
    }

    private static void ToRgba(ReadOnlySpan<byte> rgb, Span<byte> rgba)
    {
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }
    }

    private void Drop(string reason, Exception ex)
    {
        Interlocked.Increment(ref _dropped);
        Dropped.Add(1);
        LogDropped(_logger, reason, ex.Message);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover .tmp is never mistaken for a snapshot.
        }
    }

    /// <summary>Fails fast, before any analysis, when the folder cannot take files.</summary>
    private static void EnsureWritable(string directory)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, ".write-test-" + Environment.ProcessId);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Snapshot folder '{directory}' is not writable: {ex.Message}", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Snapshot dropped: {Reason} ({Detail})")]
    private static partial void LogDropped(ILogger logger, string reason, string detail);
}
