using CivicLens.Domain.Detection;
using CivicLens.Domain.Geometry;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CivicLens.Inference.Faces;

/// <summary>
/// Finds faces so they can be hidden: MediaPipe BlazeFace (back-camera 256 model, Apache-2.0) on ONNX Runtime.
/// It reports boxes only — the model's landmarks are read past and never leave this class, because
/// redaction needs nothing more and anything more could help identify someone.
/// <para>
/// Faces on a whole CCTV frame are often a few pixels tall, below what any detector finds, so callers run
/// it on regions (person crops) as well: the region is letterboxed into the model input and the boxes come
/// back in frame pixels. Input and output tensors are bound to preallocated buffers once; a call allocates
/// nothing outside ONNX Runtime. Not thread-safe: one caller at a time.
/// </para>
/// </summary>
public sealed class FaceDetector : IFaceLocator, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _input;
    private readonly float[][] _scores;
    private readonly float[][] _boxes;
    private readonly List<OrtValue> _values = [];
    private readonly OrtIoBinding _binding;
    private readonly FaceInputSampler _sampler;
    private readonly FaceDecoder _decoder;
    private bool _disposed;

    /// <exception cref="ModelException">The file is missing, not a loadable ONNX model, or not shaped like BlazeFace.</exception>
    public FaceDetector(string modelPath, FaceDetectorOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _session = Load(modelPath, options.IntraOpThreads);
        try
        {
            (var inputName, InputSize) = ReadInput(_session, modelPath);
            var outputNames = MatchOutputs(_session, modelPath);
            var heads = BlazeFaceAnchors.Heads.Length;
            _input = new float[InputSize * InputSize * 3];
            _scores = new float[heads][];
            _boxes = new float[heads][];
            _binding = _session.CreateIoBinding();

            // ONNX Runtime reads and writes these pinned arrays in place on every run.
            _binding.BindInput(inputName, Pin(_input, [1, InputSize, InputSize, 3]));
            for (var h = 0; h < heads; h++)
            {
                var n = BlazeFaceAnchors.Count(h);
                _scores[h] = new float[n];
                _boxes[h] = new float[n * BlazeFaceAnchors.BoxValues];
                _binding.BindOutput(outputNames[h], Pin(_scores[h], [1, n, 1]));
                _binding.BindOutput(outputNames[heads + h], Pin(_boxes[h], [1, n, BlazeFaceAnchors.BoxValues]));
            }

            _sampler = new FaceInputSampler(InputSize);
            _decoder = new FaceDecoder(InputSize, options.ScoreThreshold, options.NmsIouThreshold);
        }
        catch
        {
            ReleaseNative();
            throw;
        }
    }

    public FaceDetectorOptions Options { get; }

    /// <summary>Side of the model's square input in pixels (256 for the back-camera model).</summary>
    public int InputSize { get; }

    /// <summary>
    /// Appends the faces found inside <paramref name="region"/> (frame pixels; clipped to the frame, an empty
    /// region finds nothing) to <paramref name="faces"/>, in frame pixels. Existing entries are kept.
    /// </summary>
    /// <param name="rgb24">Packed RGB rows, <paramref name="stride"/> bytes apart.</param>
    public void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces) =>
        Detect(rgb24, width, height, stride, region, faces, scores: null);

    /// <summary>As the public overload; also appends each face's score, for tests and calibration.</summary>
    internal void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces, List<float>? scores)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(faces);
        ValidateImage(rgb24, width, height, stride);
        if (!float.IsFinite(region.X) || !float.IsFinite(region.Y) || !float.IsFinite(region.Width) || !float.IsFinite(region.Height))
        {
            throw new ArgumentException($"Region {region} is not a finite box.", nameof(region));
        }

        var clipped = region.ClampTo(width, height);
        if (clipped.Width < 1f || clipped.Height < 1f) return;

        var box = _sampler.Fill(rgb24, width, height, stride, clipped, _input);
        _session.RunWithBinding(_runOptions, _binding);

        foreach (ref readonly var c in _decoder.Decode(_scores, _boxes))
        {
            var face = BoxF.FromCorners(
                clipped.X + (c.X1 - box.OffsetX) / box.Scale,
                clipped.Y + (c.Y1 - box.OffsetY) / box.Scale,
                clipped.X + (c.X2 - box.OffsetX) / box.Scale,
                clipped.Y + (c.Y2 - box.OffsetY) / box.Scale).ClampTo(width, height);
            if (face.Area <= 0f) continue;
            faces.Add(face);
            scores?.Add(c.Score);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        ReleaseNative();
    }

    private OrtValue Pin(float[] buffer, long[] shape)
    {
        var value = OrtValue.CreateTensorValueFromMemory(buffer, shape);
        _values.Add(value);
        return value;
    }

    private void ReleaseNative()
    {
        _binding?.Dispose();
        foreach (var v in _values) v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    private static void ValidateImage(ReadOnlySpan<byte> rgb24, int width, int height, int stride)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"Image size {width}x{height} must be positive.");
        }

        if (stride < width * 3)
        {
            throw new ArgumentOutOfRangeException(nameof(stride), stride, $"Stride must be at least width x 3 = {width * 3} bytes for RGB24.");
        }

        var needed = (long)(height - 1) * stride + width * 3L;
        if (rgb24.Length < needed)
        {
            throw new ArgumentException(
                $"RGB24 buffer holds {rgb24.Length} bytes; a {width}x{height} image with stride {stride} needs {needed}.", nameof(rgb24));
        }
    }

    private static InferenceSession Load(string path, int intraOpThreads)
    {
        if (!File.Exists(path))
        {
            throw new ModelException($"Face model file not found: {path}. Run 'civiclens models install' to install the default models.");
        }

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            // The exported graph carries unused initializers that ORT warns about on every load.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelException($"Face model '{path}' cannot be loaded by ONNX Runtime (corrupt or not an ONNX model): {ex.Message}", ex);
        }
    }

    private static (string Name, int Size) ReadInput(InferenceSession session, string path)
    {
        var inputs = session.InputMetadata;
        if (inputs.Count == 1)
        {
            var (name, meta) = inputs.First();
            var d = meta.Dimensions;
            if (meta.IsTensor && meta.ElementDataType == TensorElementType.Float && d.Length == 4
                && d[0] is 1 or -1 && d[1] is >= 32 and <= 1024 && d[1] == d[2] && d[3] == 3)
            {
                return (name, d[1]);
            }
        }

        throw new ModelException(
            $"Face model '{Path.GetFileName(path)}' has input(s) {Describe(inputs)}; a BlazeFace model needs one float NHWC image input [1,S,S,3] with S from 32 to 1024.");
    }

    // The exported names (Identity:0 ...) are not a contract; the shapes are. Order: scores per head, then boxes per head.
    private static string[] MatchOutputs(InferenceSession session, string path)
    {
        var heads = BlazeFaceAnchors.Heads.Length;
        var names = new string?[2 * heads];
        var outputs = session.OutputMetadata;
        foreach (var (name, meta) in outputs)
        {
            var d = meta.Dimensions;
            if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Float || d.Length != 3 || d[0] is not (1 or -1)) continue;
            for (var h = 0; h < heads; h++)
            {
                if (d[1] != BlazeFaceAnchors.Count(h)) continue;
                if (d[2] == 1) names[h] ??= name;
                else if (d[2] == BlazeFaceAnchors.BoxValues) names[heads + h] ??= name;
            }
        }

        if (outputs.Count != names.Length || Array.IndexOf(names, null) >= 0)
        {
            throw new ModelException(
                $"Face model '{Path.GetFileName(path)}' has outputs {Describe(outputs)}; a BlazeFace model needs scores [1,512,1], [1,384,1] and boxes [1,512,16], [1,384,16].");
        }

        return names!;
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Count == 0
            ? "(none)"
            : string.Join(", ", nodes.Select(n => n.Value.IsTensor
                ? $"{n.Key} {n.Value.ElementDataType} [{string.Join(",", n.Value.Dimensions)}]"
                : $"{n.Key} (not a tensor)"));
}
