using CivicLens.Domain.Frames;
using SkiaSharp;

namespace CivicLens.Pipeline.Stills;

/// <summary>
/// Encodes a redacted RGB24 frame as a fresh baseline JPEG. Only pixels go in: no EXIF, XMP, ICC profile or comment
/// from the source can survive, because nothing of the source file but its decoded pixels reaches the encoder.
/// </summary>
internal static class StillEncoder
{
    public static byte[] EncodeJpeg(Frame frame, int quality)
    {
        var w = frame.Width;
        var h = frame.Height;
        // No colour space: Skia then writes no ICC profile either (the pixels are already sRGB).
        using var bitmap = new SKBitmap();
        if (!bitmap.TryAllocPixels(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque)))
        {
            throw new StillRedactionException($"Out of memory for a {w}x{h} image.");
        }

        var rgb = frame.Pixels.AsSpan(0, w * h * 3);
        var rgba = bitmap.GetPixelSpan();
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgba[j] = rgb[i];
            rgba[j + 1] = rgb[i + 1];
            rgba[j + 2] = rgb[i + 2];
            rgba[j + 3] = 255;
        }

        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKJpegEncoderOptions(quality))
            ?? throw new StillRedactionException("JPEG encoding failed.");
        var bytes = data.ToArray();
        if (bytes.Length < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8)
        {
            throw new StillRedactionException("The JPEG encoder returned something that is not a JPEG.");
        }

        return bytes;
    }
}
