using CivicLens.Domain.Geometry;
using CivicLens.Inference.Faces;

namespace CivicLens.TestSupport;

/// <summary>
/// A thorough search for faces in a stored image with the bundled face detector: the whole image and overlapping
/// 192-pixel windows (BlazeFace sees a 256-pixel input, so a window enlarges small CCTV faces to a size it finds).
/// On the sample footage BlazeFace scores background clutter up to about 0.66, so the default threshold is 0.7,
/// which it gives real pedestrians' faces in the original frames.
/// </summary>
public sealed class FaceScan(float threshold = 0.7f) : IDisposable
{
    private readonly FaceDetector _faces = new(TestAssets.BlazeFaceModel, new FaceDetectorOptions { ScoreThreshold = threshold });

    public List<BoxF> Find(RgbStill image)
    {
        var found = new List<BoxF>();
        var (w, h) = (image.Width, image.Height);
        _faces.Detect(image.Pixels, w, h, image.Stride, new BoxF(0, 0, w, h), found);
        for (var y = 0; y < h; y += 96)
            for (var x = 0; x < w; x += 96)
            {
                _faces.Detect(image.Pixels, w, h, image.Stride, new BoxF(x, y, 192, 192), found);
            }

        return found;
    }

    public void Dispose() => _faces.Dispose();
}
