using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Detection;

/// <summary>
/// Finds where faces are so they can be hidden. Used for redaction only: it yields boxes, never
/// landmarks, embeddings or anything that could identify a person.
/// </summary>
public interface IFaceLocator
{
    /// <summary>Appends face boxes (frame pixels) found inside <paramref name="region"/> of an RGB24 image.</summary>
    void Detect(ReadOnlySpan<byte> rgb24, int width, int height, int stride, in BoxF region, List<BoxF> faces);
}
