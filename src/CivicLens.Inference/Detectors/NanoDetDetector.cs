using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace CivicLens.Inference.Detectors;

/// <summary>
/// A NanoDet-style anchor-free detector on ONNX Runtime (the bundled NanoDet-g 416 COCO model, or any
/// model with the same output layout). Input and output tensors are preallocated for every batch size up to
/// <see cref="MaxBatchSize"/> and bound once, so <see cref="Detect"/> allocates nothing.
/// </summary>
public sealed partial class NanoDetDetector : IObjectDetector
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly TensorPreprocessor _preprocessor;
    private readonly NanoDetDecoder _decoder;
    private readonly Batch[] _batches;
    private readonly Nms.Candidate[] _candidates;
    private readonly float[] _minHeight;
    private readonly int _inputWidth;
    private readonly int _inputHeight;
    private readonly float _nmsIou;
    private readonly int _maxDetections;

    public NanoDetDetector(DetectorOptions options, ModelLabels labels, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(labels);
        logger ??= NullLogger.Instance;
        Labels = labels;
        _session = SessionFactory.Create(options.ModelPath, options.ExecutionProvider, options.CudaDeviceId,
            options.IntraOpThreads, options.GraphOptimization, options.AllowSpinning,
            options.DynamicBlockBase, logger, out var used);
        ExecutionProvider = used;
        try
        {
            var (inputName, batchDynamic, h, w) = ReadInput(_session, options.ModelPath);
            _inputWidth = w;
            _inputHeight = h;
            var levels = MatchOutputs(_session, labels.Count, w, h, options.ModelPath, out var bins, out var outputNames, out var outputWidths);
            MaxBatchSize = batchDynamic ? Math.Max(1, options.MaxBatchSize) : 1;

            var minScore = new float[labels.Count];
            _minHeight = new float[labels.Count];
            for (var c = 0; c < labels.Count; c++)
            {
                var name = labels[c];
                var wanted = options.Classes.Count == 0 || options.Classes.Contains(name);
                minScore[c] = !wanted ? float.PositiveInfinity
                    : options.MinScoreByClass.TryGetValue(name, out var s) ? Math.Max(s, 0f) : options.ScoreThreshold;
                _minHeight[c] = options.MinHeightByClass.TryGetValue(name, out var mh) ? mh : 0f;
            }

            foreach (var unknown in options.Classes.Concat(options.MinScoreByClass.Keys).Concat(options.MinHeightByClass.Keys))
            {
                if (!labels.Contains(unknown))
                {
                    throw new ModelException($"Class '{unknown}' is configured but model '{Path.GetFileName(options.ModelPath)}' has no such label.");
                }
            }

            _decoder = new NanoDetDecoder(levels, labels.Count, bins, minScore);
            _preprocessor = new TensorPreprocessor(w, h);
            _candidates = new Nms.Candidate[levels.Sum(l => l.Cells)];
            _nmsIou = options.NmsIouThreshold;
            _maxDetections = options.MaxDetectionsPerFrame;
            _batches = new Batch[MaxBatchSize];
            for (var n = 1; n <= MaxBatchSize; n++)
            {
                _batches[n - 1] = new Batch(_session, inputName, n, h, w, outputNames, outputWidths);
            }
        }
        catch
        {
            _session.Dispose();
            _runOptions.Dispose();
            throw;
        }
    }

    public ModelLabels Labels { get; }

    public int MaxBatchSize { get; }

    public ExecutionProviderKind ExecutionProvider { get; }

    public int InputWidth => _inputWidth;

    public int InputHeight => _inputHeight;

    public void Detect(ReadOnlySpan<Frame> frames, ReadOnlySpan<List<Detection>> results)
    {
        if (frames.Length != results.Length) throw new ArgumentException("One result list per frame is required.", nameof(results));
        var offset = 0;
        while (offset < frames.Length)
        {
            var n = Math.Min(MaxBatchSize, frames.Length - offset);
            RunBatch(frames.Slice(offset, n), results.Slice(offset, n));
            offset += n;
        }
    }

    private void RunBatch(ReadOnlySpan<Frame> frames, ReadOnlySpan<List<Detection>> results)
    {
        var batch = _batches[frames.Length - 1];
        var plane = 3 * _inputWidth * _inputHeight;
        for (var i = 0; i < frames.Length; i++)
        {
            var f = frames[i];
            _preprocessor.Fill(f.Pixels.AsSpan(0, f.Width * f.Height * 3), f.Width, f.Height, batch.Input.AsSpan(i * plane, plane));
        }

        _session.RunWithBinding(_runOptions, batch.Binding);

        for (var i = 0; i < frames.Length; i++)
        {
            var f = frames[i];
            var count = _decoder.Decode(batch.Outputs, batch.OutputWidths, i, (float)f.Width / _inputWidth, (float)f.Height / _inputHeight, _candidates);
            var candidates = _candidates.AsSpan(0, count);
            Nms.Apply(candidates, _nmsIou, _maxDetections);
            var list = results[i];
            list.Clear();
            foreach (ref readonly var c in candidates)
            {
                if (c.Suppressed) continue;
                var box = c.Box.ClampTo(f.Width, f.Height);
                if (box.Height < _minHeight[c.ClassId] || box.Area <= 0) continue;
                list.Add(new Detection(box, c.ClassId, c.Score));
            }
        }
    }

    private static (string Name, bool BatchDynamic, int Height, int Width) ReadInput(InferenceSession session, string path)
    {
        if (session.InputMetadata.Count != 1)
        {
            throw new ModelException($"Model '{Path.GetFileName(path)}' has {session.InputMetadata.Count} inputs; a detector needs exactly one image input.");
        }

        var (name, meta) = session.InputMetadata.First();
        var d = meta.Dimensions;
        if (meta.ElementType != typeof(float) || d.Length != 4 || d[1] != 3 || d[2] <= 0 || d[3] <= 0)
        {
            throw new ModelException(
                $"Model '{Path.GetFileName(path)}' input '{name}' has shape [{string.Join(',', d)}] of {meta.ElementType.Name}; expected float [N,3,H,W].");
        }

        return (name, d[0] <= 0, d[2], d[3]);
    }

    private static NanoDetDecoder.Level[] MatchOutputs(InferenceSession session, int numClasses, int w, int h, string path,
        out int bins, out string[] names, out int[] widths)
    {
        var outs = session.OutputMetadata.ToArray();
        names = outs.Select(o => o.Key).ToArray();
        widths = new int[outs.Length];
        bins = 0;
        var levels = new List<NanoDetDecoder.Level>();
        foreach (var stride in new[] { 8, 16, 32, 64 })
        {
            var gw = (w + stride - 1) / stride;
            var gh = (h + stride - 1) / stride;
            int cls = -1, box = -1;
            for (var i = 0; i < outs.Length; i++)
            {
                var d = outs[i].Value.Dimensions;
                if (d.Length != 3 || d[1] != gw * gh) continue;
                widths[i] = d[1] * d[2];
                if (d[2] == numClasses) cls = i;
                else if (d[2] % 4 == 0) box = i;
            }

            if (cls < 0 && box < 0) continue;
            if (cls < 0 || box < 0)
            {
                throw new ModelException($"Model '{Path.GetFileName(path)}': stride {stride} has a class or box output but not both.");
            }

            var b = outs[box].Value.Dimensions[2] / 4;
            if (bins != 0 && b != bins) throw new ModelException($"Model '{Path.GetFileName(path)}': levels disagree on box bins.");
            bins = b;
            levels.Add(new NanoDetDecoder.Level(stride, gw, gh, cls, box));
        }

        if (levels.Count == 0 || levels.Count * 2 != outs.Length)
        {
            throw new ModelException(
                $"Model '{Path.GetFileName(path)}' outputs [{string.Join("; ", outs.Select(o => o.Key + ":[" + string.Join(',', o.Value.Dimensions) + "]"))}] " +
                $"do not match a NanoDet layout for {numClasses} labels at {w}x{h} (class [N,cells,{numClasses}] and box [N,cells,4*bins] per stride).");
        }

        return levels.ToArray();
    }

    public void Dispose()
    {
        foreach (var b in _batches) b?.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>Tensors and their binding for one batch size, made once.</summary>
    private sealed class Batch : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public Batch(InferenceSession session, string inputName, int n, int h, int w, string[] outputNames, int[] outputWidths)
        {
            Input = new float[n * 3 * h * w];
            var input = OrtValue.CreateTensorValueFromMemory(Input, [n, 3, h, w]);
            _owned.Add(input);
            Binding = session.CreateIoBinding();
            _owned.Add(Binding);
            Binding.BindInput(inputName, input);
            Outputs = new float[outputNames.Length][];
            OutputWidths = outputWidths;
            for (var o = 0; o < outputNames.Length; o++)
            {
                var dims = session.OutputMetadata[outputNames[o]].Dimensions;
                Outputs[o] = new float[n * outputWidths[o]];
                var value = OrtValue.CreateTensorValueFromMemory(Outputs[o], [n, dims[1], dims[2]]);
                _owned.Add(value);
                Binding.BindOutput(outputNames[o], value);
            }
        }

        public float[] Input { get; }
        public OrtIoBinding Binding { get; }
        public float[][] Outputs { get; }
        public int[] OutputWidths { get; }

        public void Dispose()
        {
            foreach (var d in _owned) d.Dispose();
        }
    }
}
