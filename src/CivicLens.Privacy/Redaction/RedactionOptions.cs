namespace CivicLens.Privacy.Redaction;

/// <summary>
/// How images are redacted before they are stored or served. The defaults err on the side of hiding
/// too much: a pixelated shoulder costs nothing, a readable face or plate is a breach.
/// </summary>
public sealed record RedactionOptions
{
    /// <summary>Share of a person box's height, from its top, treated as the head region.</summary>
    public float HeadFraction { get; init; } = 0.30f;

    /// <summary>Extra width added on each side of the head region, as a share of the box width.</summary>
    public float HeadSideMargin { get; init; } = 0.15f;

    /// <summary>Share of a vehicle box's height, from its bottom, treated as the plate band.</summary>
    public float PlateBandFraction { get; init; } = 0.55f;

    /// <summary>Person crops shorter than this (pixels) are too small for the face detector; the head region covers them.</summary>
    public int MinPersonHeightForFaceSearch { get; init; } = 48;

    /// <summary>Face boxes are grown by this share on each side before they are pixelated.</summary>
    public float FaceMargin { get; init; } = 0.25f;

    /// <summary>A region is pixelated into blocks of at least this many pixels, and into at most <see cref="MaxBlocksAcross"/> blocks across.</summary>
    public int MinBlockSize { get; init; } = 6;

    /// <summary>
    /// Measured on BlazeFace: a 36-px face pixelated with 8-px blocks (4.5 across) is still detected; with 16-px
    /// blocks (2.25 across) it is not. On vtest.avi a 3x3 mosaic of a pedestrian's head still drew face scores
    /// above 0.5 (dark blocks over light ones read as eyes), so the default is one block: the region becomes its
    /// mean colour, which keeps "someone is there" and nothing of the face.
    /// </summary>
    public int MaxBlocksAcross { get; init; } = 1;
}
