using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Detection;

/// <summary>One object found in one frame, in source-frame pixels.</summary>
public readonly record struct Detection(BoxF Box, int ClassId, float Score);
