namespace CivicLens.Inference.Faces;

/// <summary>
/// Turns BlazeFace's raw head outputs into scored boxes (input pixels) and blends overlapping ones
/// with weighted NMS, as MediaPipe does for faces: a weighted mean of a cluster's boxes is steadier
/// than the single best box, which matters when the box decides what gets hidden.
/// Buffers are sized for every anchor once, so decoding allocates nothing.
/// </summary>
internal sealed class FaceDecoder
{
    // MediaPipe clips raw scores to +-100 before the sigmoid.
    private const float ScoreClip = 100f;

    private readonly float[][] _centres;
    private readonly float _minLogit;
    private readonly float _iouThreshold;
    private readonly Candidate[] _candidates;

    public FaceDecoder(int inputSize, float scoreThreshold, float iouThreshold)
    {
        var heads = BlazeFaceAnchors.Heads.Length;
        _centres = new float[heads][];
        var total = 0;
        for (var h = 0; h < heads; h++)
        {
            _centres[h] = BlazeFaceAnchors.Centres(h, inputSize);
            total += BlazeFaceAnchors.Count(h);
        }

        // Comparing logits skips the exp() for the ~99% of anchors that see no face.
        _minLogit = MathF.Log(scoreThreshold / (1f - scoreThreshold));
        _iouThreshold = iouThreshold;
        _candidates = new Candidate[total];
    }

    internal struct Candidate
    {
        public float X1;
        public float Y1;
        public float X2;
        public float Y2;
        public float Score;
        public bool Done;

        public readonly float Area => MathF.Max(0f, X2 - X1) * MathF.Max(0f, Y2 - Y1);
    }

    private readonly struct ByScoreDescending : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y) => y.Score.CompareTo(x.Score);
    }

    /// <summary>
    /// Decodes every head (scores[h]: one logit per anchor, boxes[h]: 16 values per anchor) and writes
    /// the merged faces to the front of the candidate buffer; returns them, best first.
    /// </summary>
    public ReadOnlySpan<Candidate> Decode(ReadOnlySpan<float[]> scores, ReadOnlySpan<float[]> boxes)
    {
        var count = 0;
        for (var h = 0; h < _centres.Length; h++)
        {
            var centres = _centres[h];
            var s = scores[h];
            var b = boxes[h];
            for (var a = 0; a < s.Length; a++)
            {
                var logit = s[a];
                if (!(logit > _minLogit)) continue;
                var o = a * BlazeFaceAnchors.BoxValues;
                var cx = centres[2 * a] + b[o];
                var cy = centres[2 * a + 1] + b[o + 1];
                var hw = b[o + 2] * 0.5f;
                var hh = b[o + 3] * 0.5f;
                if (!(hw > 0f && hh > 0f)) continue;
                ref var c = ref _candidates[count++];
                c.X1 = cx - hw;
                c.Y1 = cy - hh;
                c.X2 = cx + hw;
                c.Y2 = cy + hh;
                c.Score = 1f / (1f + MathF.Exp(-Math.Clamp(logit, -ScoreClip, ScoreClip)));
                c.Done = false;
            }
        }

        return _candidates.AsSpan(0, WeightedNms(_candidates.AsSpan(0, count)));
    }

    // Each round takes the best remaining candidate, blends every remaining one overlapping it above the
    // threshold (itself included) by score, and keeps the best score. Results are compacted in place:
    // slot `kept` is always at or before the current leader, so no unread candidate is overwritten.
    private int WeightedNms(Span<Candidate> candidates)
    {
        candidates.Sort(default(ByScoreDescending));
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var top = candidates[i];
            if (top.Done) continue;
            float x1 = 0, y1 = 0, x2 = 0, y2 = 0, total = 0;
            for (var j = i; j < candidates.Length; j++)
            {
                ref var c = ref candidates[j];
                if (j != i && (c.Done || IoU(top, c) <= _iouThreshold)) continue;
                x1 += c.X1 * c.Score;
                y1 += c.Y1 * c.Score;
                x2 += c.X2 * c.Score;
                y2 += c.Y2 * c.Score;
                total += c.Score;
                c.Done = true;
            }

            candidates[kept++] = new Candidate
            {
                X1 = x1 / total,
                Y1 = y1 / total,
                X2 = x2 / total,
                Y2 = y2 / total,
                Score = top.Score,
                Done = true,
            };
        }

        return kept;
    }

    private static float IoU(in Candidate a, in Candidate b)
    {
        var w = MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1);
        var h = MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1);
        if (w <= 0f || h <= 0f) return 0f;
        var inter = w * h;
        return inter / (a.Area + b.Area - inter);
    }
}
