namespace CivicLens.Domain.Geometry;

/// <summary>An axis-aligned box in source-frame pixels (top-left origin).</summary>
public readonly record struct BoxF(float X, float Y, float Width, float Height)
{
    public float Right => X + Width;
    public float Bottom => Y + Height;
    public float CenterX => X + Width * 0.5f;
    public float CenterY => Y + Height * 0.5f;
    public float Area => Width > 0 && Height > 0 ? Width * Height : 0f;

    public static BoxF FromCorners(float x1, float y1, float x2, float y2) => new(x1, y1, x2 - x1, y2 - y1);

    public float IntersectionArea(in BoxF other)
    {
        var w = MathF.Min(Right, other.Right) - MathF.Max(X, other.X);
        var h = MathF.Min(Bottom, other.Bottom) - MathF.Max(Y, other.Y);
        return w > 0 && h > 0 ? w * h : 0f;
    }

    public float IoU(in BoxF other)
    {
        var inter = IntersectionArea(other);
        if (inter <= 0) return 0f;
        var union = Area + other.Area - inter;
        return union > 0 ? inter / union : 0f;
    }

    /// <summary>Clamps to a frame of the given size; may return an empty box.</summary>
    public BoxF ClampTo(int frameWidth, int frameHeight)
    {
        var x1 = Math.Clamp(X, 0, frameWidth);
        var y1 = Math.Clamp(Y, 0, frameHeight);
        var x2 = Math.Clamp(Right, 0, frameWidth);
        var y2 = Math.Clamp(Bottom, 0, frameHeight);
        return FromCorners(x1, y1, x2, y2);
    }

    /// <summary>Grows the box by a fraction of its size on each side.</summary>
    public BoxF Inflate(float fraction) =>
        new(X - Width * fraction, Y - Height * fraction, Width * (1 + 2 * fraction), Height * (1 + 2 * fraction));

    public override string ToString() => FormattableString.Invariant($"[{X:0.#},{Y:0.#} {Width:0.#}x{Height:0.#}]");
}
