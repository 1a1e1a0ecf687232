using CivicLens.Domain.Geometry;

namespace CivicLens.Inference.Detectors;

/// <summary>Greedy class-wise non-maximum suppression over a caller-owned candidate buffer.</summary>
internal static class Nms
{
    internal struct Candidate
    {
        public BoxF Box;
        public int ClassId;
        public float Score;
        public bool Suppressed;
    }

    private readonly struct ByScoreDescending : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y) => y.Score.CompareTo(x.Score);
    }

    /// <summary>
    /// Sorts by score and marks suppressed candidates; returns how many survive. Boxes of different classes are
    /// suppressed too when they overlap almost entirely (<paramref name="crossClassIou"/>): that is one object the
    /// model could not name (a van as "truck" and "car"), not two objects.
    /// </summary>
    public static int Apply(Span<Candidate> candidates, float iouThreshold, int maxKeep, float crossClassIou = 0.8f)
    {
        candidates.Sort(default(ByScoreDescending));
        var kept = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            ref var ci = ref candidates[i];
            if (ci.Suppressed) continue;
            if (kept == maxKeep)
            {
                ci.Suppressed = true;
                continue;
            }

            kept++;
            for (var j = i + 1; j < candidates.Length; j++)
            {
                ref var cj = ref candidates[j];
                if (cj.Suppressed) continue;
                var iou = ci.Box.IoU(cj.Box);
                if (iou > crossClassIou || (cj.ClassId == ci.ClassId && iou > iouThreshold))
                {
                    cj.Suppressed = true;
                }
            }
        }

        return kept;
    }
}
