namespace CivicLens.Inference.Faces;

/// <summary>Settings of the redaction face detector.</summary>
public sealed record FaceDetectorOptions
{
    /// <summary>
    /// Faces scoring at or below this are not reported. Redaction errs towards hiding, so this sits a
    /// little below MediaPipe's own 0.52 for the back-camera model.
    /// </summary>
    public float ScoreThreshold { get; init; } = 0.5f;

    /// <summary>Overlapping candidates above this IoU are blended into one face (weighted NMS).</summary>
    public float NmsIouThreshold { get; init; } = 0.3f;

    /// <summary>Threads inside one operator; 0 lets ONNX Runtime use every core.</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(ScoreThreshold is > 0f and < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(ScoreThreshold), ScoreThreshold, "ScoreThreshold must lie strictly between 0 and 1.");
        }

        if (!(NmsIouThreshold is > 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(NmsIouThreshold), NmsIouThreshold, "NmsIouThreshold must lie in (0, 1].");
        }

        if (IntraOpThreads < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be 0 (all cores) or more.");
        }
    }
}
