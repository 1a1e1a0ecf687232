using SkiaSharp;

namespace CivicLens.TestSupport;

/// <summary>A still decoded to packed RGB24, the layout frames travel in.</summary>
public sealed class RgbStill
{
    private RgbStill(byte[] pixels, int width, int height)
    {
        Pixels = pixels;
        Width = width;
        Height = height;
    }

    public byte[] Pixels { get; }
    public int Width { get; }
    public int Height { get; }
    public int Stride => Width * 3;

    public static RgbStill Load(string path) => FromBitmap(Decode(path), path);

    /// <summary>An encoded image held in memory (an API response); null when it is not an image SkiaSharp decodes.</summary>
    public static RgbStill? TryDecode(byte[] encoded)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(encoded));
        var decoded = codec is null ? null : SKBitmap.Decode(codec);
        return decoded is null ? null : FromBitmap(decoded, "image");
    }

    private static RgbStill FromBitmap(SKBitmap bitmap, string path)
    {
        using var decoded = bitmap;
        using var rgba = new SKBitmap(new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        if (!decoded.CopyTo(rgba, SKColorType.Rgba8888)) throw new InvalidOperationException($"Cannot convert {path} to RGBA.");
        return FromRgba(rgba);
    }

    /// <summary>
    /// A <paramref name="width"/>x<paramref name="height"/> grass-green frame with the still shrunk by
    /// <paramref name="shrink"/> and placed at (<paramref name="left"/>, <paramref name="top"/>): a far-away subject on a CCTV-sized frame.
    /// </summary>
    public static RgbStill Compose(string path, int width, int height, float left, float top, float shrink)
    {
        using var decoded = Decode(path);
        using var image = SKImage.FromBitmap(decoded);
        using var frame = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(frame))
        {
            canvas.Clear(new SKColor(90, 110, 90));
            var dest = new SKRect(left, top, left + decoded.Width / shrink, top + decoded.Height / shrink);
            canvas.DrawImage(image, dest, new SKSamplingOptions(SKCubicResampler.Mitchell));
        }

        return FromRgba(frame);
    }

    private static SKBitmap Decode(string path) =>
        SKBitmap.Decode(path) ?? throw new InvalidOperationException($"SkiaSharp cannot decode {path}.");

    private static RgbStill FromRgba(SKBitmap rgba)
    {
        var src = rgba.GetPixelSpan();
        var rgb = new byte[rgba.Width * rgba.Height * 3];
        for (int i = 0, o = 0; o < rgb.Length; i += 4, o += 3)
        {
            rgb[o] = src[i];
            rgb[o + 1] = src[i + 1];
            rgb[o + 2] = src[i + 2];
        }

        return new RgbStill(rgb, rgba.Width, rgba.Height);
    }

    public RgbStill Clone() => new((byte[])Pixels.Clone(), Width, Height);

    /// <summary>Replaces every 16x16 block (grid anchored at the box's corner) inside the box by its mean colour.</summary>
    public void Pixelate(int x1, int y1, int x2, int y2, int block)
    {
        x1 = Math.Clamp(x1, 0, Width);
        x2 = Math.Clamp(x2, 0, Width);
        y1 = Math.Clamp(y1, 0, Height);
        y2 = Math.Clamp(y2, 0, Height);
        for (var by = y1; by < y2; by += block)
        {
            for (var bx = x1; bx < x2; bx += block)
            {
                var ex = Math.Min(bx + block, x2);
                var ey = Math.Min(by + block, y2);
                long r = 0, g = 0, b = 0;
                for (var y = by; y < ey; y++)
                {
                    for (var x = bx; x < ex; x++)
                    {
                        var i = y * Stride + x * 3;
                        r += Pixels[i];
                        g += Pixels[i + 1];
                        b += Pixels[i + 2];
                    }
                }

                var n = (ex - bx) * (ey - by);
                for (var y = by; y < ey; y++)
                {
                    for (var x = bx; x < ex; x++)
                    {
                        var i = y * Stride + x * 3;
                        Pixels[i] = (byte)(r / n);
                        Pixels[i + 1] = (byte)(g / n);
                        Pixels[i + 2] = (byte)(b / n);
                    }
                }
            }
        }
    }

    /// <summary>The same picture in a buffer whose rows are <paramref name="padding"/> bytes longer, as cropped or aligned frames are.</summary>
    public byte[] WithRowPadding(int padding, out int stride)
    {
        stride = Stride + padding;
        var padded = new byte[stride * Height];
        padded.AsSpan().Fill(0xAB);
        for (var y = 0; y < Height; y++)
        {
            Pixels.AsSpan(y * Stride, Stride).CopyTo(padded.AsSpan(y * stride));
        }

        return padded;
    }
}
