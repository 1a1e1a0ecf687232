using CivicLens.Domain.Frames;

namespace CivicLens.Domain.Detection;

/// <summary>
/// Finds objects in frames. Implementations preallocate their tensors for up to <see cref="MaxBatchSize"/>
/// frames so a call allocates nothing; they are not thread-safe (one caller at a time).
/// </summary>
public interface IObjectDetector : IDisposable
{
    ModelLabels Labels { get; }

    int MaxBatchSize { get; }

    /// <summary>
    /// Detects objects in each frame. <paramref name="results"/>[i] is cleared and filled with the
    /// detections of <paramref name="frames"/>[i], in that frame's pixel coordinates.
    /// </summary>
    void Detect(ReadOnlySpan<Frame> frames, ReadOnlySpan<List<Detection>> results);
}

/// <summary>A model that cannot be used: corrupt, of the wrong shape, or with forbidden labels.</summary>
public sealed class ModelException : Exception
{
    public ModelException(string message) : base(message) { }
    public ModelException(string message, Exception inner) : base(message, inner) { }
    public ModelException() { }
}
