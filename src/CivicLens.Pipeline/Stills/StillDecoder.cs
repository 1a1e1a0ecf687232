using System.Globalization;
using CivicLens.Domain.Frames;
using SkiaSharp;

namespace CivicLens.Pipeline.Stills;

/// <summary>
/// Decodes an encoded still (JPEG, PNG, WebP, GIF, BMP, ...) into a packed RGB24 frame with SkiaSharp, within limits:
/// the size is read from the header and an image over the pixel limit is refused before a single pixel is decoded.
/// The EXIF orientation is applied (the frame is upright, as a viewer shows it) and transparency is flattened onto
/// white, so the pixels the detectors see are the pixels that get encoded. Only the first frame of an animation is read.
/// </summary>
internal static class StillDecoder
{
    /// <summary>
    /// The size and format the header declares, read as <see cref="Decode"/> reads them but without decoding a pixel;
    /// null when SkiaSharp recognises no image.
    /// </summary>
    public static (int Width, int Height, SKEncodedImageFormat Format)? ReadHeader(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty) return null;
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        return codec is null ? null : (codec.Info.Width, codec.Info.Height, codec.EncodedFormat);
    }

    public static Frame Decode(ReadOnlySpan<byte> encoded, long maxPixels)
    {
        if (encoded.IsEmpty) throw new StillImageRejectedException("The file is empty.");
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new StillImageRejectedException("Not an image SkiaSharp can decode (JPEG, PNG, WebP, GIF or BMP expected).");

        var info = codec.Info;
        var pixels = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0)
        {
            throw new StillImageRejectedException($"The image header declares an empty size ({info.Width}x{info.Height}).");
        }

        if (pixels > maxPixels)
        {
            throw new StillImageRejectedException(string.Create(CultureInfo.InvariantCulture,
                $"The image is {info.Width}x{info.Height} ({pixels / 1e6:0.#} megapixels); the limit is {maxPixels / 1e6:0.#} megapixels. Nothing was decoded."));
        }

        // Premultiplied RGBA in sRGB: what a canvas composites correctly, whatever the source's alpha and profile.
        var decodeInfo = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        using var decoded = new SKBitmap();
        if (!decoded.TryAllocPixels(decodeInfo))
        {
            throw new StillRedactionException($"Out of memory for a {info.Width}x{info.Height} image.");
        }

        var result = codec.GetPixels(decodeInfo, decoded.GetPixels());
        switch (result)
        {
            case SKCodecResult.Success:
                break;
            case SKCodecResult.IncompleteInput:
                throw new StillImageRejectedException("The image is truncated (its data ends before the last row).") { Truncated = true };
            case SKCodecResult.ErrorInInput or SKCodecResult.InvalidInput:
                throw new StillImageRejectedException($"The image data is corrupt ({result}).");
            default:
                throw new StillImageRejectedException($"The image cannot be decoded ({result}).");
        }

        return Orient(decoded, codec.EncodedOrigin);
    }

    /// <summary>
    /// Draws the decoded pixels upright (the 8 EXIF orientations are exact pixel permutations) onto white, then
    /// packs them as RGB24.
    /// </summary>
    private static Frame Orient(SKBitmap decoded, SKEncodedOrigin origin)
    {
        var w = decoded.Width;
        var h = decoded.Height;
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (ow, oh) = swaps ? (h, w) : (w, h);
        // x' = ScaleX*x + SkewX*y + TransX, y' = SkewY*x + ScaleY*y + TransY.
        var m = origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
            SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
            _ => SKMatrix.Identity,
        };

        using var upright = new SKBitmap();
        if (!upright.TryAllocPixels(new SKImageInfo(ow, oh, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb())))
        {
            throw new StillRedactionException($"Out of memory for a {ow}x{oh} image.");
        }

        using (var canvas = new SKCanvas(upright))
        {
            canvas.Clear(SKColors.White);
            canvas.SetMatrix(m);
            using var image = SKImage.FromBitmap(decoded);
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), null);
        }

        var frame = Frame.CreateDetached(ow, oh);
        var src = upright.GetPixelSpan();
        var dst = frame.Pixels.AsSpan();
        for (int i = 0, o = 0; o < dst.Length; i += 4, o += 3)
        {
            dst[o] = src[i];
            dst[o + 1] = src[i + 1];
            dst[o + 2] = src[i + 2];
        }

        return frame;
    }
}
