using System.Text.Json;
using System.Text.Json.Serialization;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Models;

/// <summary>
/// The sidecar <c>&lt;model&gt;.json</c> next to every model: where it came from and how to feed it. The
/// bundled models get one from the installer; a user-supplied model needs one written by hand, e.g.
/// <code>{"name":"my-ppe","inputWidth":640,"inputHeight":640,"inputLayout":"NCHW","inputRange":"0..1","labels":["helmet","vest"]}</code>
/// </summary>
public sealed record ModelManifest
{
    public static readonly IReadOnlyList<string> Layouts = ["NCHW", "NHWC"];
    public static readonly IReadOnlyList<string> Ranges = ["0..1", "-1..1", "0..255"];

    public required string Name { get; init; }
    public string? SourcePackage { get; init; }
    public string? SourceVersion { get; init; }
    public string? Licence { get; init; }

    /// <summary>Lower-case hex SHA-256 of the model file; checked by <see cref="VerifyModelFile"/> when present.</summary>
    public string? Sha256 { get; init; }

    public required int InputWidth { get; init; }
    public required int InputHeight { get; init; }

    /// <summary>"NCHW" or "NHWC".</summary>
    public required string InputLayout { get; init; }

    /// <summary>The pixel value range the model expects: "0..1", "-1..1" or "0..255".</summary>
    public required string InputRange { get; init; }

    /// <summary>Class names by class id.</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Reads and validates a manifest file.</summary>
    /// <exception cref="ModelException">Missing, unreadable, not JSON, or invalid; the message names the file and the fix.</exception>
    public static ModelManifest Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new ModelException($"Model manifest '{path}' does not exist. A model needs a sidecar JSON manifest (name, inputWidth, inputHeight, inputLayout, inputRange, labels); run 'civiclens models install' for the bundled models.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelException($"Model manifest '{path}' cannot be read: {ex.Message}", ex);
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses and validates manifest JSON; <paramref name="source"/> names it in errors.</summary>
    public static ModelManifest Parse(ReadOnlySpan<byte> json, string source)
    {
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ModelJsonContext.Default.ModelManifest);
        }
        catch (JsonException ex)
        {
            throw new ModelException($"Model manifest '{source}' is not valid: {ex.Message}", ex);
        }

        if (manifest is null) throw new ModelException($"Model manifest '{source}' is empty (null).");
        manifest.Validate(source);
        return manifest;
    }

    /// <exception cref="ModelException">A field is out of range; the message says which and what is allowed.</exception>
    public void Validate(string source)
    {
        void Fail(string what) => throw new ModelException($"Model manifest '{source}': {what}");
        if (string.IsNullOrWhiteSpace(Name)) Fail("'name' is empty.");
        if (InputWidth <= 0 || InputHeight <= 0) Fail($"inputWidth/inputHeight must be positive, got {InputWidth}x{InputHeight}.");
        if (!Layouts.Contains(InputLayout)) Fail($"inputLayout '{InputLayout}' is not one of {string.Join(", ", Layouts)}.");
        if (!Ranges.Contains(InputRange)) Fail($"inputRange '{InputRange}' is not one of {string.Join(", ", Ranges)}.");
        if (Labels is null || Labels.Count == 0) Fail("'labels' is empty; list the class names in class-id order.");
        if (Labels!.Any(string.IsNullOrWhiteSpace)) Fail("'labels' contains an empty name.");
        if (Sha256 is not null && (Sha256.Length != 64 || !Sha256.All(char.IsAsciiHexDigitLower)))
        {
            Fail($"sha256 '{Sha256}' is not 64 lower-case hex digits.");
        }
    }

    /// <summary>Checks the model file against <see cref="Sha256"/> (when the manifest pins one).</summary>
    /// <exception cref="ModelException">The file's hash differs.</exception>
    public void VerifyModelFile(string modelPath)
    {
        if (Sha256 is null) return;
        var actual = FileHashes.Sha256Hex(modelPath);
        if (actual != Sha256)
        {
            throw new ModelException($"Model '{modelPath}' has SHA-256 {actual} but its manifest pins {Sha256}: the file is corrupt or was replaced.");
        }
    }

    /// <summary>Indented JSON, stable byte for byte for the same manifest.</summary>
    public byte[] ToJsonBytes()
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(this, ModelJsonContext.Default.ModelManifest);
        return [.. bytes, (byte)'\n'];
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowTrailingCommas = true,
    ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ModelJsonContext : JsonSerializerContext;
