using CivicLens.Domain.Geometry;
using CivicLens.Inference.Faces;
using CivicLens.TestSupport;

namespace CivicLens.Inference.Tests.Faces;

/// <summary>BlazeFace on the real stills; expected face positions were checked by eye on the images.</summary>
public sealed class FaceDetectorTests : IDisposable
{
    // messi5.jpg (548x342): the player's face, brow to chin and ear to ear.
    private static readonly BoxF MessiFace = new(222, 96, 36, 36);

    // person.jpg (640x424): the walker's head (knitted hat, seen from behind-left; one cheek shows).
    private static readonly BoxF WalkerHead = new(214, 98, 38, 40);

    // dog.jpg (768x576): the dog's head.
    private static readonly BoxF DogHead = new(200, 220, 110, 100);

    private readonly FaceDetector _detector = new(TestAssets.BlazeFaceModel, new FaceDetectorOptions());

    public void Dispose() => _detector.Dispose();

    [Fact]
    public void Ctor_BlazeFaceBack256_ReadsInputSize()
    {
        Assert.Equal(256, _detector.InputSize);
    }

    [Fact]
    public void Detect_MessiFullFrame_FindsExactlyTheOneFace()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));

        var (faces, scores) = Run(_detector, img, Whole(img));

        var face = Assert.Single(faces);
        Assert.True(scores[0] > 0.8f, $"score {scores[0]}");
        Assert.True(face.IoU(MessiFace) > 0.7f, $"found {face}, expected about {MessiFace}");
    }

    [Fact]
    public void Detect_PersonStill_FindsOnlyTheWalkersHead()
    {
        var img = RgbStill.Load(TestAssets.Still("person.jpg"));

        var (faces, scores) = Run(_detector, img, Whole(img));

        var face = Assert.Single(faces);
        Assert.True(scores[0] > 0.5f, $"score {scores[0]}");
        Assert.True(face.IntersectionArea(WalkerHead) / face.Area > 0.8f, $"found {face}, expected inside {WalkerHead}");
    }

    [Fact]
    public void Detect_DogStill_FindsNoConfidentFaceAndNothingOffTheDogsHead()
    {
        var img = RgbStill.Load(TestAssets.Still("dog.jpg"));

        var (faces, scores) = Run(_detector, img, Whole(img));

        // The dog's face scores just above 0.5; for redaction that over-reach is harmless, a miss elsewhere would not be.
        Assert.All(scores, s => Assert.True(s < 0.75f, $"score {s}"));
        Assert.All(faces, f => Assert.True(f.IntersectionArea(DogHead) / f.Area > 0.8f, $"face {f} is not on the dog's head"));
    }

    [Theory]
    [InlineData(170, 50, 160, 200)] // upper body, taller than wide
    [InlineData(60, 60, 400, 275)] // whole player, wider than tall
    [InlineData(200, 80, 80, 70)] // tight head crop: the face fills the input
    public void Detect_RegionContainingFace_MatchesFullFrameFaceInFrameCoordinates(float x, float y, float w, float h)
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var full = Assert.Single(Run(_detector, img, Whole(img)).Faces);

        var (faces, _) = Run(_detector, img, new BoxF(x, y, w, h));

        var face = Assert.Single(faces);
        Assert.True(face.IoU(full) > 0.7f, $"region face {face}, full-frame face {full}");
    }

    [Fact]
    public void Detect_RegionWithoutTheFace_FindsNone()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));

        // Shirt, legs and ball: the face is above this band.
        Assert.Empty(Run(_detector, img, new BoxF(0, 150, img.Width, img.Height - 150)).Faces);
    }

    // Why callers run the detector on person crops: a 12-px face on an HD frame shrinks to 2 px in the model input.
    [Fact]
    public void Detect_TinyFaceOnHdFrame_MissedOnWholeFrameButFoundInPersonCrop()
    {
        const float left = 400, top = 300, shrink = 3;
        var img = RgbStill.Compose(TestAssets.Still("messi5.jpg"), 1280, 720, left, top, shrink);
        var expected = new BoxF(left + MessiFace.X / shrink, top + MessiFace.Y / shrink, MessiFace.Width / shrink, MessiFace.Height / shrink);
        var person = new BoxF(left + 60 / shrink, top + 55 / shrink, 400 / shrink, 280 / shrink);

        var whole = Run(_detector, img, Whole(img)).Faces;
        var (faces, scores) = Run(_detector, img, person);

        Assert.DoesNotContain(whole, f => f.IoU(expected) > 0.3f);
        var face = Assert.Single(faces);
        Assert.True(scores[0] > 0.7f, $"score {scores[0]}");
        Assert.True(face.IoU(expected) > 0.6f, $"found {face}, expected about {expected}");
    }

    [Fact]
    public void Detect_RegionPartlyOutsideFrame_IsClippedAndFindsFace()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));

        var (faces, _) = Run(_detector, img, new BoxF(-100, -100, 420, 420));

        var face = Assert.Single(faces);
        Assert.True(face.IoU(MessiFace) > 0.7f, $"found {face}");
    }

    [Fact]
    public void Detect_RegionOutsideFrame_AppendsNothingAndKeepsExistingEntries()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var sentinel = new BoxF(1, 2, 3, 4);
        var faces = new List<BoxF> { sentinel };

        _detector.Detect(img.Pixels, img.Width, img.Height, img.Stride, new BoxF(img.Width + 10, 0, 50, 50), faces);
        _detector.Detect(img.Pixels, img.Width, img.Height, img.Stride, new BoxF(100, 100, 0, 40), faces);

        Assert.Equal([sentinel], faces);
    }

    [Fact]
    public void Detect_RowsWithPadding_SameFaceAsPackedRows()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var packed = Assert.Single(Run(_detector, img, Whole(img)).Faces);
        var padded = img.WithRowPadding(13, out var stride);
        var faces = new List<BoxF>();

        _detector.Detect(padded, img.Width, img.Height, stride, Whole(img), faces);

        var face = Assert.Single(faces);
        Assert.True(face.IoU(packed) > 0.99f, $"padded {face}, packed {packed}");
    }

    [Fact]
    public void Detect_CallsInterleavedWithOtherImages_GiveIdenticalResults()
    {
        var messi = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var dog = RgbStill.Load(TestAssets.Still("dog.jpg"));

        var first = Run(_detector, messi, Whole(messi));
        _ = Run(_detector, dog, Whole(dog));
        var second = Run(_detector, messi, Whole(messi));

        Assert.Equal(first.Faces, second.Faces);
        Assert.Equal(first.Scores, second.Scores);
    }

    // The privacy check will rely on this: a face pixelated with 16-px blocks is no longer a face.
    [Fact]
    public void Detect_FacePixelatedWith16PxBlocks_FindsNoFace()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var found = Assert.Single(Run(_detector, img, Whole(img)).Faces);
        Pixelate(img, found, block: 16);

        Assert.Empty(Run(_detector, img, Whole(img)).Faces);
        Assert.Empty(Run(_detector, img, new BoxF(170, 50, 160, 200)).Faces);
    }

    // The same check must be able to fail: blocks too small for the face leave it recognisable as one.
    [Fact]
    public void Detect_FacePixelatedWith8PxBlocks_StillFindsFace()
    {
        var img = RgbStill.Load(TestAssets.Still("messi5.jpg"));
        var found = Assert.Single(Run(_detector, img, Whole(img)).Faces);
        Pixelate(img, found, block: 8);

        var face = Assert.Single(Run(_detector, img, Whole(img)).Faces);
        Assert.True(face.IoU(found) > 0.5f, $"found {face}, before pixelation {found}");
    }

    [Fact]
    public void Detect_BufferShorterThanImage_ThrowsNamingSizes()
    {
        var buffer = new byte[100 * 100 * 3 - 1];
        var ex = Assert.Throws<ArgumentException>(() => _detector.Detect(buffer, 100, 100, 300, new BoxF(0, 0, 100, 100), []));
        Assert.Equal("rgb24", ex.ParamName);
        Assert.Contains("29999 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detect_StrideBelowRowWidth_Throws()
    {
        var buffer = new byte[100 * 100 * 3];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _detector.Detect(buffer, 100, 100, 299, new BoxF(0, 0, 100, 100), []));
        Assert.Equal("stride", ex.ParamName);
    }

    [Fact]
    public void Detect_NonFiniteRegion_Throws()
    {
        var buffer = new byte[10 * 10 * 3];
        var ex = Assert.Throws<ArgumentException>(() => _detector.Detect(buffer, 10, 10, 30, new BoxF(float.NaN, 0, 5, 5), []));
        Assert.Equal("region", ex.ParamName);
    }

    [Fact]
    public void Detect_AfterDispose_ThrowsObjectDisposed()
    {
        var detector = new FaceDetector(TestAssets.BlazeFaceModel, new FaceDetectorOptions());
        detector.Dispose();
        detector.Dispose();

        Assert.Throws<ObjectDisposedException>(() => detector.Detect(new byte[30], 1, 10, 3, new BoxF(0, 0, 1, 10), []));
    }

    [Theory]
    [InlineData(0f, 0.3f, 1, "ScoreThreshold")]
    [InlineData(1f, 0.3f, 1, "ScoreThreshold")]
    [InlineData(0.5f, 0f, 1, "NmsIouThreshold")]
    [InlineData(0.5f, 0.3f, -1, "IntraOpThreads")]
    public void Ctor_InvalidOptions_ThrowsNamingSetting(float score, float iou, int threads, string setting)
    {
        var options = new FaceDetectorOptions { ScoreThreshold = score, NmsIouThreshold = iou, IntraOpThreads = threads };

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new FaceDetector(TestAssets.BlazeFaceModel, options));

        Assert.Equal(setting, ex.ParamName);
    }

    private static BoxF Whole(RgbStill img) => new(0, 0, img.Width, img.Height);

    private static void Pixelate(RgbStill img, BoxF box, int block) =>
        img.Pixelate((int)box.X, (int)box.Y, (int)MathF.Ceiling(box.Right), (int)MathF.Ceiling(box.Bottom), block);

    private static (List<BoxF> Faces, List<float> Scores) Run(FaceDetector detector, RgbStill img, BoxF region)
    {
        var faces = new List<BoxF>();
        var scores = new List<float>();
        detector.Detect(img.Pixels, img.Width, img.Height, img.Stride, region, faces, scores);
        return (faces, scores);
    }
}
