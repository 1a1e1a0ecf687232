using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Conversion;

/// <summary>Names one graph output: <paramref name="Source"/> is the TF.js signature key or tensor name ("Identity:0").</summary>
public sealed record TfjsOutputName(string Source, string Name);

public sealed record TfjsConversionOptions
{
    /// <summary>The graph outputs, in order, with their ONNX names. Empty: every signature output, TF.js names.</summary>
    public IReadOnlyList<TfjsOutputName> Outputs { get; init; } = [];

    /// <summary>The ONNX name of the (single) image input.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>
    /// Makes the batch dimension symbolic ("N") so one session runs any number of frames: Reshape targets
    /// that start with the batch size are rewritten to copy the input's batch dimension (ONNX Reshape's 0).
    /// </summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>Written into the model's doc_string (provenance).</summary>
    public string? DocString { get; init; }

    /// <summary>Written as model metadata_props, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];
}

/// <summary>
/// Converts a TF.js graph model (model.json + weights .bin) to an ONNX file, deterministically (same input,
/// same bytes). It covers the ops of onnx-tf-exported convolutional detectors such as NanoDet: constant
/// subgraphs are folded, shapes are propagated (Conv group from the input's channels, outputs checked
/// against the signature), NHWC ops are wrapped in transposes that the optimiser then cancels, and Pad
/// nodes are folded into the Conv/MaxPool after them. Anything else is refused with the op and node named.
/// </summary>
public static class TfjsGraphConverter
{
    /// <summary>ONNX opset of the output (Resize with <c>axes</c> needs 18).</summary>
    public const int Opset = 18;

    /// <summary>The ops the converter understands.</summary>
    public static IReadOnlyList<string> SupportedOps => TfjsToOnnx.SupportedOps;

    /// <summary>Converts <paramref name="modelJsonPath"/>; weight files are resolved next to it.</summary>
    /// <exception cref="ModelException">The model cannot be read or uses something the converter does not support.</exception>
    public static byte[] Convert(string modelJsonPath, TfjsConversionOptions? options = null)
    {
        byte[] json;
        try
        {
            json = File.ReadAllBytes(modelJsonPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"TF.js model '{modelJsonPath}' cannot be read: {ex.Message}", ex);
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(modelJsonPath))!;
        return Convert(json, name => File.ReadAllBytes(ResolveWeightsPath(dir, name)), options);
    }

    /// <param name="modelJson">The model.json bytes.</param>
    /// <param name="readWeightsFile">Reads a weights file named in the manifest's <c>paths</c>.</param>
    /// <param name="options">Output names, input name, dynamic batch.</param>
    public static byte[] Convert(ReadOnlySpan<byte> modelJson, Func<string, byte[]> readWeightsFile, TfjsConversionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(readWeightsFile);
        var graph = TfjsGraph.Load(modelJson, readWeightsFile);
        var model = new TfjsToOnnx(graph, options ?? new TfjsConversionOptions()).Build();
        return OnnxSerializer.Serialize(model);
    }

    private static string ResolveWeightsPath(string dir, string name)
    {
        // Manifest paths are relative file names; never follow one out of the model's folder.
        var full = Path.GetFullPath(Path.Combine(dir, name));
        if (!full.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ModelException($"Weights path '{name}' in the TF.js model JSON points outside the model's folder.");
        }

        return full;
    }
}
