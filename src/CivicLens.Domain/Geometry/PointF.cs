namespace CivicLens.Domain.Geometry;

/// <summary>A point in source-frame pixels.</summary>
public readonly record struct PointF(float X, float Y);
