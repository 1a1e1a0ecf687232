using System.Diagnostics.Metrics;
using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;
using CivicLens.Inference.Detectors;
using CivicLens.Inference.Faces;
using CivicLens.Privacy.Redaction;
using Microsoft.Extensions.Logging;

namespace CivicLens.Pipeline.Stills;

/// <summary>Limits and settings of still-image redaction.</summary>
public sealed record StillRedactionOptions
{
    /// <summary>Larger images are refused from their header, before any pixel is decoded.</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>Larger files are refused before they are read.</summary>
    public long MaxBytes { get; init; } = 64L * 1024 * 1024;

    public int JpegQuality { get; init; } = 90;

    /// <summary>Lowest person or vehicle score that gets a head region or plate band; low, since hiding too much is the safe error.</summary>
    public float ScoreThreshold { get; init; } = 0.2f;

    /// <summary>Side of the overlapping tiles the object detector also runs on when a still is much larger (0: whole image only).</summary>
    public int DetectorTile { get; init; } = 832;

    public int MaxDetectorTiles { get; init; } = 48;

    /// <summary>
    /// Extra detector passes with the still shrunk to 1/k of a larger grey canvas, one per k. A phone photo of a car's
    /// back or a person close up fills the frame, and small detectors trained on scenes miss what fills their whole
    /// input; seen smaller, with context around it, they find it. Empty: no such pass.
    /// </summary>
    public IReadOnlyList<int> ZoomOutFactors { get; init; } = [2, 3];

    /// <summary>Side of the overlapping tiles the face detector also runs on when a still is much larger (0: whole image and person crops only).</summary>
    public int FaceTile { get; init; } = 512;

    public int MaxFaceTiles { get; init; } = 256;

    /// <summary>Threads inside one ONNX operator; 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; init; }

    public RedactionOptions Redaction { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "MaxPixels must be positive.");
        if (MaxBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "MaxBytes must be positive.");
        if (JpegQuality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(JpegQuality), JpegQuality, "JpegQuality must lie in 1..100.");
        if (!(ScoreThreshold is > 0f and < 1f)) throw new ArgumentOutOfRangeException(nameof(ScoreThreshold), ScoreThreshold, "ScoreThreshold must lie strictly between 0 and 1.");
        if (DetectorTile is < 0 or (> 0 and < 64)) throw new ArgumentOutOfRangeException(nameof(DetectorTile), DetectorTile, "DetectorTile must be 0 (off) or at least 64.");
        if (FaceTile is < 0 or (> 0 and < 64)) throw new ArgumentOutOfRangeException(nameof(FaceTile), FaceTile, "FaceTile must be 0 (off) or at least 64.");
        if (MaxDetectorTiles < 1) throw new ArgumentOutOfRangeException(nameof(MaxDetectorTiles), MaxDetectorTiles, "MaxDetectorTiles must be positive.");
        if (MaxFaceTiles < 1) throw new ArgumentOutOfRangeException(nameof(MaxFaceTiles), MaxFaceTiles, "MaxFaceTiles must be positive.");
        if (ZoomOutFactors.Any(k => k is < 2 or > 8)) throw new ArgumentOutOfRangeException(nameof(ZoomOutFactors), string.Join(",", ZoomOutFactors), "ZoomOutFactors must lie in 2..8.");
        if (IntraOpThreads < 0) throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be 0 (all cores) or more.");
    }
}

/// <summary>A redacted still: the JPEG to store or serve, and what was hidden in it (boxes in its upright pixels).</summary>
public sealed class RedactedStill
{
    public required ReadOnlyMemory<byte> Jpeg { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    /// <summary>Faces the face detector found (whole image, tiles and person crops; overlapping finds counted once).</summary>
    public required int Faces { get; init; }

    /// <summary>Head regions hidden: one per person found.</summary>
    public required int Heads { get; init; }

    /// <summary>Plate bands hidden: one per vehicle that may carry a plate (plates themselves are never looked for, nor read).</summary>
    public required int PlateBands { get; init; }

    /// <summary>Every region hidden, in the order the planner made them.</summary>
    public required IReadOnlyList<BoxF> Regions { get; init; }

    /// <summary>The person boxes whose heads were hidden.</summary>
    public required IReadOnlyList<BoxF> People { get; init; }

    /// <summary>The vehicle boxes whose plate bands were hidden.</summary>
    public required IReadOnlyList<BoxF> Vehicles { get; init; }
}

/// <summary>
/// Redacts any still image that will be stored or served (evidence, exports, uploaded photos): decode within limits
/// (<see cref="StillRedactionOptions.MaxPixels"/> checked from the header), EXIF orientation applied, then the same
/// redaction as video snapshots (head region of every person, plate band of every vehicle, every face the face
/// detector finds on the image, its tiles and person crops), and a fresh JPEG that carries no metadata of the source.
/// <para>
/// Nothing partial ever comes out: any failure throws a <see cref="StillRedactionException"/> and no bytes are
/// returned or written, never the unredacted image. Safe to share between threads (the models run one call at a time).
/// </para>
/// </summary>
public sealed class StillRedactor : IDisposable
{
    private static readonly Meter Meter = new("CivicLens.Pipeline.Stills");
    private static readonly Counter<long> RedactedCount = Meter.CreateCounter<long>("civiclens.stills.redacted", "{image}", "Still images redacted");
    private static readonly Counter<long> RefusedCount = Meter.CreateCounter<long>("civiclens.stills.refused", "{image}", "Still images refused (not an image, too large, malformed)");
    private static readonly Counter<long> FailedCount = Meter.CreateCounter<long>("civiclens.stills.failed", "{image}", "Still images whose redaction failed");

    // Long side of a zoom-out canvas: a few times the detector's input is plenty, and the work stays bounded.
    private const int ZoomCanvas = 1248;

    private readonly IObjectDetector _detector;
    private readonly StillRedactionOptions _options;
    private readonly TilingFaceLocator? _faces;
    private readonly FrameRedactor _redactor;
    private readonly bool[] _isPerson;
    private readonly bool[] _isVehicle;
    private readonly IDisposable[] _owned;
    private readonly Lock _gate = new();

    /// <param name="detector">Finds people and vehicles (any labels <see cref="ObjectKinds"/> names); not disposed by this class.</param>
    /// <param name="faces">Finds faces; null leaves only head regions and plate bands (not for production). Not disposed by this class.</param>
    public StillRedactor(IObjectDetector detector, IFaceLocator? faces, StillRedactionOptions options)
        : this(detector, faces, options, [])
    {
    }

    private StillRedactor(IObjectDetector detector, IFaceLocator? faces, StillRedactionOptions options, IDisposable[] owned)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _detector = detector;
        _options = options;
        _owned = owned;
        _faces = faces is null ? null : new TilingFaceLocator(faces, options.FaceTile, options.MaxFaceTiles);
        var labels = detector.Labels;
        _isPerson = labels.Names.Select(n => ObjectKinds.People.Contains(n)).ToArray();
        _isVehicle = labels.Names.Select(n => ObjectKinds.PlateCarriers.Contains(n)).ToArray();
        if (!_isPerson.Any(p => p))
        {
            throw new ModelException("The detector has no person label, so it cannot plan head regions; stills cannot be redacted with it.");
        }

        _redactor = new FrameRedactor(new RedactionPlanner(options.Redaction, labels, _faces), options.Redaction);
    }

    /// <summary>
    /// Loads the bundled detector (NanoDet, people and plate-carrying vehicles only) and face detector (BlazeFace)
    /// from <paramref name="modelsDirectory"/>.
    /// </summary>
    /// <exception cref="ModelException">A model is missing, corrupt, or has forbidden labels.</exception>
    public static StillRedactor Open(string modelsDirectory, StillRedactionOptions? options = null, ILoggerFactory? loggers = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelsDirectory);
        options ??= new StillRedactionOptions();
        options.Validate();
        var detectorOptions = AnalysisRunner.DefaultDetectorOptions(modelsDirectory);
        var labels = AnalysisRunner.LoadLabels(detectorOptions.ModelPath);
        var wanted = labels.Names.Where(n => ObjectKinds.People.Contains(n) || ObjectKinds.PlateCarriers.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var detector = new NanoDetDetector(detectorOptions with
        {
            MaxBatchSize = 1,
            Classes = wanted,
            ScoreThreshold = options.ScoreThreshold,
            IntraOpThreads = options.IntraOpThreads,
            // A still is looked at once: every person counts, however small.
            MinHeightByClass = new Dictionary<string, float>(),
        }, labels, loggers?.CreateLogger<NanoDetDetector>());
        FaceDetector? faces = null;
        try
        {
            faces = new FaceDetector(Path.Combine(modelsDirectory, AnalysisRunner.FaceFile), new FaceDetectorOptions { IntraOpThreads = options.IntraOpThreads });
            return new StillRedactor(detector, faces, options, [detector, faces]);
        }
        catch
        {
            faces?.Dispose();
            detector.Dispose();
            throw;
        }
    }

    /// <summary>Redacts one encoded image (JPEG, PNG, WebP, GIF, BMP) held in memory.</summary>
    /// <exception cref="StillImageRejectedException">The input is not a decodable image, is truncated or corrupt, or is over the limits.</exception>
    /// <exception cref="StillRedactionException">Redaction or encoding failed; nothing was produced.</exception>
    public RedactedStill Redact(ReadOnlySpan<byte> encoded)
    {
        try
        {
            if (encoded.Length > _options.MaxBytes)
            {
                throw new StillImageRejectedException($"The file is {encoded.Length} bytes; the limit is {_options.MaxBytes} bytes.");
            }

            var frame = StillDecoder.Decode(encoded, _options.MaxPixels);
            var still = RedactFrame(frame);
            RedactedCount.Add(1);
            return still;
        }
        catch (StillImageRejectedException)
        {
            RefusedCount.Add(1);
            throw;
        }
        catch (StillRedactionException)
        {
            FailedCount.Add(1);
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            FailedCount.Add(1);
            throw new StillRedactionException($"Redaction failed, so nothing was written: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Redacts <paramref name="inputPath"/> into the JPEG <paramref name="outputPath"/>. The output appears whole or
    /// not at all (written to a temporary name, flushed, renamed); on any failure nothing is left there.
    /// </summary>
    /// <exception cref="StillImageRejectedException">The input is missing, not a decodable image, truncated, corrupt, or over the limits.</exception>
    /// <exception cref="StillRedactionException">Redaction, encoding or writing failed; no output file exists.</exception>
    public RedactedStill RedactFile(string inputPath, string outputPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var name = Path.GetFileName(inputPath);
        byte[] encoded;
        try
        {
            var length = new FileInfo(inputPath).Length;
            if (length > _options.MaxBytes)
            {
                RefusedCount.Add(1);
                throw new StillImageRejectedException($"{name}: the file is {length} bytes; the limit is {_options.MaxBytes} bytes. Nothing was read.");
            }

            encoded = File.ReadAllBytes(inputPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            RefusedCount.Add(1);
            throw new StillImageRejectedException($"{name}: cannot be read ({ex.Message}).", ex);
        }

        RedactedStill still;
        try
        {
            still = Redact(encoded);
        }
        catch (StillImageRejectedException ex)
        {
            throw new StillImageRejectedException($"{name}: {ex.Message}", ex) { Truncated = ex.Truncated };
        }
        catch (StillRedactionException ex)
        {
            throw new StillRedactionException($"{name}: {ex.Message}", ex);
        }

        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, "." + Path.GetFileName(outputPath) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.WriteThrough))
            {
                file.Write(still.Jpeg.Span);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, outputPath, overwrite: true);
            return still;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            FailedCount.Add(1);
            throw new StillRedactionException($"{name}: the redacted image cannot be written to {outputPath} ({ex.Message}); nothing was left there.", ex);
        }
    }

    private RedactedStill RedactFrame(Frame frame)
    {
        var w = frame.Width;
        var h = frame.Height;
        List<BoxF> regions, faces;
        var people = new List<BoxF>();
        var vehicles = new List<BoxF>();
        lock (_gate)
        {
            var detections = DetectWithTiles(frame);
            foreach (var d in detections)
            {
                if ((uint)d.ClassId >= (uint)_isPerson.Length) continue;
                if (_isPerson[d.ClassId]) people.Add(d.Box);
                else if (_isVehicle[d.ClassId]) vehicles.Add(d.Box);
            }

            _faces?.Found.Clear();
            _redactor.Redact(frame.Span, w, h, detections);
            regions = [.. _redactor.LastRegions];
            faces = _faces is null ? [] : [.. _faces.Found];
        }

        return new RedactedStill
        {
            Jpeg = StillEncoder.EncodeJpeg(frame, _options.JpegQuality),
            Width = w,
            Height = h,
            Faces = CountDistinct(faces, 0.3f),
            Heads = CountDistinct(people, 0.5f),
            PlateBands = CountDistinct(vehicles, 0.5f),
            Regions = regions,
            People = people,
            Vehicles = vehicles,
        };
    }

    /// <summary>
    /// The whole image, and for a large still each overlapping tile as well. Every box is kept (a redaction is a union:
    /// a duplicate or a partial box at a tile's edge only hides a little more).
    /// </summary>
    private List<Detection> DetectWithTiles(Frame frame)
    {
        var all = new List<Detection>();
        var found = new List<Detection>();
        _detector.Detect([frame], [found]);
        all.AddRange(found);
        foreach (var k in _options.ZoomOutFactors)
        {
            ZoomedOut(frame, k, all, found);
        }

        var tiles = TileGrid.Cover(frame.Width, frame.Height, _options.DetectorTile, _options.MaxDetectorTiles);
        if (tiles.Count == 0) return all;

        var tile = Frame.CreateDetached(tiles[0].Width, tiles[0].Height);
        var rowBytes = tile.Width * 3;
        foreach (var (x, y, tw, th) in tiles)
        {
            for (var row = 0; row < th; row++)
            {
                frame.Pixels.AsSpan((y + row) * frame.Stride + x * 3, rowBytes).CopyTo(tile.Pixels.AsSpan(row * rowBytes));
            }

            _detector.Detect([tile], [found]);
            foreach (var d in found)
            {
                all.Add(d with { Box = d.Box with { X = d.Box.X + x, Y = d.Box.Y + y } });
            }
        }

        return all;
    }

    /// <summary>
    /// The still shrunk (box-averaged) to 1/<paramref name="k"/> of a grey canvas of its own shape, at most
    /// <see cref="ZoomCanvas"/> pixels on its long side (the detector shrinks it to its input anyway); boxes found
    /// there are mapped back to the still's pixels.
    /// </summary>
    private void ZoomedOut(Frame frame, int k, List<Detection> all, List<Detection> found)
    {
        var w = frame.Width;
        var h = frame.Height;
        var fit = Math.Min(1.0, ZoomCanvas / (double)Math.Max(w, h));
        var cw = Math.Max(k, (int)(w * fit));
        var ch = Math.Max(k, (int)(h * fit));
        var iw = Math.Max(1, cw / k);
        var ih = Math.Max(1, ch / k);
        var ox = (cw - iw) / 2;
        var oy = (ch - ih) / 2;
        var canvas = Frame.CreateDetached(cw, ch);
        // The grey NanoDet pads its letterbox with: neutral to the detector.
        canvas.Span.Fill(114);
        var src = frame.Pixels;
        var dst = canvas.Pixels;
        for (var y = 0; y < ih; y++)
        {
            var y0 = (int)((long)y * h / ih);
            var y1 = Math.Max(y0 + 1, (int)((long)(y + 1) * h / ih));
            for (var x = 0; x < iw; x++)
            {
                var x0 = (int)((long)x * w / iw);
                var x1 = Math.Max(x0 + 1, (int)((long)(x + 1) * w / iw));
                int r = 0, g = 0, b = 0, n = 0;
                for (var sy = y0; sy < y1; sy++)
                {
                    var row = sy * frame.Stride;
                    for (var sx = x0; sx < x1; sx++)
                    {
                        var i = row + sx * 3;
                        r += src[i];
                        g += src[i + 1];
                        b += src[i + 2];
                        n++;
                    }
                }

                var o = (oy + y) * canvas.Stride + (ox + x) * 3;
                dst[o] = (byte)(r / n);
                dst[o + 1] = (byte)(g / n);
                dst[o + 2] = (byte)(b / n);
            }
        }

        _detector.Detect([canvas], [found]);
        var sx2 = w / (float)iw;
        var sy2 = h / (float)ih;
        foreach (var d in found)
        {
            var left = Math.Clamp((d.Box.X - ox) * sx2, 0, w);
            var top = Math.Clamp((d.Box.Y - oy) * sy2, 0, h);
            var right = Math.Clamp((d.Box.Right - ox) * sx2, 0, w);
            var bottom = Math.Clamp((d.Box.Bottom - oy) * sy2, 0, h);
            // A box on the grey margin alone is no object of the still.
            if (right - left < 1 || bottom - top < 1) continue;
            all.Add(d with { Box = new BoxF(left, top, right - left, bottom - top) });
        }
    }

    // Overlapping finds of one thing (the whole image and a tile, a face in two tiles) count once.
    private static int CountDistinct(List<BoxF> boxes, float iou)
    {
        var kept = new List<BoxF>();
        foreach (var b in boxes.OrderByDescending(b => b.Area))
        {
            if (!kept.Any(k => k.IoU(b) > iou || k.IntersectionArea(b) >= 0.9f * b.Area)) kept.Add(b);
        }

        return kept.Count;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a hidden .tmp is never taken for a redacted image.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    public void Dispose()
    {
        foreach (var d in _owned) d.Dispose();
    }
}
