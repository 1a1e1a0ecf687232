namespace CivicLens.Inference.Models;

/// <summary>A verified model file and its manifest.</summary>
public sealed record InstalledModel(string Path, ModelManifest Manifest)
{
    public override string ToString() => $"{System.IO.Path.GetFileName(Path)} (sha256 {Manifest.Sha256?[..12]}...)";
}

/// <summary>The default models, verified against their pins.</summary>
/// <param name="Directory">The models directory.</param>
/// <param name="Detector">NanoDet-g 416 (COCO-80), converted to ONNX.</param>
/// <param name="FaceDetector">BlazeFace back-camera 256 (faces, for redaction only).</param>
/// <param name="Written">The files this call wrote; empty when everything was already in place.</param>
public sealed record InstalledModels(string Directory, InstalledModel Detector, InstalledModel FaceDetector, IReadOnlyList<string> Written)
{
    public override string ToString() =>
        $"{Detector}, {FaceDetector} in {Directory}" +
        (Written.Count == 0 ? " (already up to date)" : $" (wrote {string.Join(", ", Written.Select(System.IO.Path.GetFileName))})");
}
