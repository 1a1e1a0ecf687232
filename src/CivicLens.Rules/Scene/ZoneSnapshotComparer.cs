using CivicLens.Domain.Frames;
using CivicLens.Domain.Geometry;

namespace CivicLens.Rules.Scene;

/// <summary>Whether a reported problem is still in view.</summary>
public enum ZoneVerdict
{
    /// <summary>The problem's cells still look as they did when it was reported.</summary>
    Present,

    /// <summary>They changed back (to the clean background when known, otherwise away from the problem).</summary>
    Gone,

    /// <summary>Not enough of the problem can be seen (tracked objects in front of it), or the evidence is mixed.</summary>
    Uncertain,

    /// <summary>
    /// The view as a whole is not the one the patch was taken of (lens covered, camera moved, lights out): nothing
    /// can be said about the problem, and certainly not that it has gone.
    /// </summary>
    ViewChanged,
}

/// <summary>The verdict and what it rests on: shares of the visible problem cells and of the problem in view.</summary>
public readonly record struct ZoneComparison(ZoneVerdict Verdict, float PresentFraction, float GoneFraction, float VisibleFraction);

/// <summary>
/// Fix verification: confirms a reported problem (dumped waste, graffiti, a fallen sign) has gone, with the same
/// cells, grey levels and lighting compensation as the scene-change rule. Capture a <see cref="ZonePatch"/> when the
/// problem is reported (<see cref="Capture"/>, or <see cref="Evaluators.SceneChangeRule.CaptureIncident"/>, which
/// also knows the clean background), then <see cref="Compare"/> later frames against it. Boxes are in the camera's
/// configured pixels; frames may come in any resolution of the same aspect. One instance per zone; not thread-safe
/// (it reuses its buffers).
/// </summary>
public sealed class ZoneSnapshotComparer
{
    private const float OccluderMargin = 0.1f;

    /// <summary>Less than this share of the problem in view: <see cref="ZoneVerdict.Uncertain"/>.</summary>
    private const float MinVisible = 0.5f;

    /// <summary>Lighting darker than this share of the patch's (or brighter than its inverse): another view, not the scene.</summary>
    private const float MinLighting = 0.3f;

    /// <summary>More than this share of the zone around the problem (or of its outlines) differing: another view.</summary>
    private const float ViewChangedAbove = 0.5f;

    /// <summary>The outline test needs this many cells on the reference's edges.</summary>
    private const int MinEdgeCells = 20;

    private readonly ZoneGrid _grid;
    private readonly int _threshold;
    private readonly IlluminationGain _gain = new();
    private readonly float[] _grey;
    private readonly bool[] _occluded;
    private readonly bool[] _use;

    /// <param name="zone">The zone polygon in configured pixels.</param>
    /// <param name="configuredWidth">The camera's configured width (the zone's pixel space).</param>
    /// <param name="configuredHeight">The camera's configured height.</param>
    /// <param name="pixelThreshold">Grey-level difference that counts as a change (the rule's <c>pixel_threshold</c>).</param>
    public ZoneSnapshotComparer(Polygon zone, int configuredWidth, int configuredHeight, int pixelThreshold = 28)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pixelThreshold, 1);
        _grid = new ZoneGrid(zone, configuredWidth, configuredHeight);
        _threshold = pixelThreshold;
        _grey = new float[_grid.Length];
        _occluded = new bool[_grid.Length];
        _use = new bool[_grid.Length];
    }

    /// <summary>
    /// Captures the zone as it looks now. <paramref name="region"/> (configured pixels) is where the problem is; draw
    /// it tight, the problem should fill a good part of it. Null takes the whole zone: fine for a small zone around
    /// one spot. Cells under <paramref name="occluders"/> are not part of the reference.
    /// </summary>
    public ZonePatch Capture(Frame frame, BoxF? region = null, IReadOnlyList<BoxF>? occluders = null, TimeSpan streamTime = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _grid.Sample(frame, _grey);
        MarkOccluders(occluders);
        var inRegion = new bool[_grid.Length];
        if (region is { } box) MarkExact(box, inRegion);

        var visible = new bool[_grid.Length];
        for (var i = 0; i < _grid.Length; i++)
        {
            if (region is null) inRegion[i] = _grid.Inside[i];
            inRegion[i] &= _grid.Inside[i];
            visible[i] = _grid.Inside[i] && !_occluded[i];
        }

        return new ZonePatch(_grid.Cols, _grid.Rows, (float[])_grey.Clone(), null, inRegion, visible, streamTime);
    }

    /// <summary>
    /// Compares a frame with a captured patch. <paramref name="occluders"/> are the boxes of tracked objects now in
    /// view (configured pixels): what they hide cannot be judged, and when they hide most of the problem the answer
    /// is <see cref="ZoneVerdict.Uncertain"/>. A picture that is not of the patch's view (see
    /// <see cref="ZoneVerdict.ViewChanged"/>) is never judged.
    /// </summary>
    public ZoneComparison Compare(ZonePatch reference, Frame current, IReadOnlyList<BoxF>? occluders = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(current);
        if (reference.Cols != _grid.Cols || reference.Rows != _grid.Rows)
        {
            throw new ArgumentException("The patch was captured for another zone or camera resolution.", nameof(reference));
        }

        _grid.Sample(current, _grey);
        MarkOccluders(occluders);
        return CompareSampled(reference);
    }

    /// <summary>
    /// <see cref="Compare(ZonePatch, Frame, IReadOnlyList{BoxF}?)"/> over cells already read by a grid of the same zone
    /// (the scene-change rule's): no second pass over the frame, nothing allocated.
    /// </summary>
    internal ZoneComparison Compare(ZonePatch reference, ReadOnlySpan<float> grey, ReadOnlySpan<bool> occluded)
    {
        if (reference.Cols != _grid.Cols || reference.Rows != _grid.Rows || grey.Length != _grid.Length || occluded.Length != _grid.Length)
        {
            throw new ArgumentException("The patch or the cells belong to another zone or camera resolution.", nameof(reference));
        }

        grey.CopyTo(_grey);
        occluded.CopyTo(_occluded);
        return CompareSampled(reference);
    }

    private ZoneComparison CompareSampled(ZonePatch reference)
    {
        var gain = EstimateGain(reference);
        if (!SameView(reference, gain)) return new ZoneComparison(ZoneVerdict.ViewChanged, 0, 0, 0);
        var refGrey = reference.Grey;
        var clean = reference.Clean;
        var hasClean = reference.HasClean;
        int informative = 0, seen = 0, present = 0, gone = 0;
        for (var i = 0; i < _grid.Length; i++)
        {
            if (!reference.Region[i] || !reference.Visible[i] || !_grid.Inside[i]) continue;
            // With a clean background only cells the problem really changed are evidence.
            if (hasClean && MathF.Abs(refGrey[i] - clean[i]) <= _threshold) continue;
            informative++;
            if (_occluded[i]) continue;
            seen++;
            var v = IlluminationGain.Normalise(_grey[i], gain);
            var toProblem = MathF.Abs(v - refGrey[i]);
            if (hasClean)
            {
                var toClean = MathF.Abs(v - clean[i]);
                if (toProblem <= _threshold && toProblem < toClean) present++;
                else if (toClean <= _threshold) gone++;
            }
            else if (toProblem <= _threshold)
            {
                present++;
            }
            else
            {
                gone++;
            }
        }

        if (informative == 0 || seen == 0) return new ZoneComparison(ZoneVerdict.Uncertain, 0, 0, 0);
        var visibleFraction = (float)seen / informative;
        var p = (float)present / seen;
        var g = (float)gone / seen;
        var verdict = visibleFraction < MinVisible ? ZoneVerdict.Uncertain
            : hasClean ? (p >= 0.5f ? ZoneVerdict.Present : g >= 0.6f ? ZoneVerdict.Gone : ZoneVerdict.Uncertain)
            // Without the clean background the region also holds unchanged ground: a problem filling 40 % of it
            // that left turns 40 % of the cells.
            : p >= 0.75f ? ZoneVerdict.Present : p <= 0.6f ? ZoneVerdict.Gone : ZoneVerdict.Uncertain;
        return new ZoneComparison(verdict, p, g, visibleFraction);
    }

    /// <summary>
    /// True when the picture is still of the view the patch was taken of: lighting within 3x of the patch's, and
    /// neither most of the zone around the problem nor most of its outlines (cells where the clean picture has a strong
    /// edge) changed. A covered lens, a camera knocked aside or the lights going out fail it, so none of them can ever
    /// pass for a problem gone.
    /// </summary>
    private bool SameView(ZonePatch reference, float gain)
    {
        if (gain < MinLighting || gain > 1f / MinLighting) return false;
        var context = reference.HasClean ? reference.Clean : reference.Grey;
        var inside = _grid.Inside;
        var visible = reference.Visible;
        var region = reference.Region;
        var cols = _grid.Cols;
        var n = _grid.Length;
        int seen = 0, off = 0, edges = 0, edgesOff = 0;
        for (var i = 0; i < n; i++)
        {
            if (!inside[i] || !visible[i] || _occluded[i]) continue;
            var b = context[i];
            var diff = MathF.Abs(IlluminationGain.Normalise(_grey[i], gain) - b);
            if (!region[i])
            {
                seen++;
                if (diff > _threshold) off++;
            }

            var edge = (i % cols + 1 < cols && inside[i + 1] && MathF.Abs(context[i + 1] - b) > _threshold)
                || (i + cols < n && inside[i + cols] && MathF.Abs(context[i + cols] - b) > _threshold);
            if (!edge) continue;
            edges++;
            if (diff > 0.5f * _threshold) edgesOff++;
        }

        return !(seen > 0 && off > ViewChangedAbove * seen) && !(edges >= MinEdgeCells && edgesOff > ViewChangedAbove * edges);
    }

    /// <summary>Lighting between the patch and now, judged on the zone's cells outside the problem (all cells when too few).</summary>
    private float EstimateGain(ZonePatch reference)
    {
        var minCells = Math.Max(8, _grid.InsideCount / 10);
        for (var i = 0; i < _grid.Length; i++) _use[i] = _grid.Inside[i] && reference.Visible[i] && !_occluded[i] && !reference.Region[i];
        if (_gain.Estimate(_grey, reference.Grey, _use, minCells) is { } outside) return outside;
        for (var i = 0; i < _grid.Length; i++) _use[i] = _grid.Inside[i] && reference.Visible[i] && !_occluded[i];
        return _gain.Estimate(_grey, reference.Grey, _use, minCells) ?? 1f;
    }

    private void MarkOccluders(IReadOnlyList<BoxF>? occluders)
    {
        Array.Clear(_occluded);
        if (occluders is null) return;
        for (var i = 0; i < occluders.Count; i++) _grid.MarkBox(occluders[i], OccluderMargin, _occluded);
    }

    /// <summary>Marks the cells whose centre lies in the box, taken as drawn (no margin).</summary>
    private void MarkExact(in BoxF box, bool[] marked)
    {
        for (var r = 0; r < _grid.Rows; r++)
        {
            var cy = _grid.OriginY + (r + 0.5f) * _grid.CellSize;
            if (cy < box.Y || cy > box.Bottom) continue;
            for (var c = 0; c < _grid.Cols; c++)
            {
                var cx = _grid.OriginX + (c + 0.5f) * _grid.CellSize;
                if (cx >= box.X && cx <= box.Right) marked[r * _grid.Cols + c] = true;
            }
        }
    }
}
