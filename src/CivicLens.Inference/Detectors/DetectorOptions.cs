using Microsoft.ML.OnnxRuntime;

namespace CivicLens.Inference.Detectors;

/// <summary>Where inference runs. CUDA needs the user to install ONNX Runtime's GPU package; otherwise CPU is used.</summary>
public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}

/// <summary>Settings of an object detector; defaults are the ones measured best on a 2-core CPU (docs/benchmarks.md).</summary>
public sealed record DetectorOptions
{
    public required string ModelPath { get; init; }

    /// <summary>Largest batch of frames (from any cameras) one inference call takes.</summary>
    public int MaxBatchSize { get; init; } = 4;

    /// <summary>Threads inside one operator; 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; init; }

    public GraphOptimizationLevel GraphOptimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// Let ONNX Runtime's idle worker threads spin for work instead of sleeping. Off by default: the detector shares
    /// the cores with ffmpeg decoders and camera loops, and spinning threads take the time those need
    /// (docs/benchmarks.md has the figures).
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>
    /// ONNX Runtime's <c>session.dynamic_block_base</c>: operators are split into shrinking blocks that idle threads
    /// take as they free up, instead of one fixed share per thread, so a thread slowed by ffmpeg on the same core
    /// does not hold up the whole operator. 2 measured best on 2 cores (docs/benchmarks.md); 0 turns it off.
    /// </summary>
    public int DynamicBlockBase { get; init; } = 2;

    public ExecutionProviderKind ExecutionProvider { get; init; } = ExecutionProviderKind.Cpu;

    public int CudaDeviceId { get; init; }

    /// <summary>Scores below this are never reported, whatever the per-class settings say.</summary>
    public float ScoreThreshold { get; init; } = 0.35f;

    public float NmsIouThreshold { get; init; } = 0.6f;

    /// <summary>Only these labels are reported (by name); empty reports every label.</summary>
    public IReadOnlySet<string> Classes { get; init; } = new HashSet<string>();

    /// <summary>Per-label minimum score (by name); overrides <see cref="ScoreThreshold"/> upwards or downwards.</summary>
    public IReadOnlyDictionary<string, float> MinScoreByClass { get; init; } = new Dictionary<string, float>();

    /// <summary>Per-label minimum box height in source pixels, to ignore far-away specks.</summary>
    public IReadOnlyDictionary<string, float> MinHeightByClass { get; init; } = new Dictionary<string, float>();

    public int MaxDetectionsPerFrame { get; init; } = 100;
}
