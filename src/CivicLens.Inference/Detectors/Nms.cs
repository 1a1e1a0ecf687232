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

    /// <summary>Sorts by score and marks suppressed candidates; returns how many survive.</summary>
    public static int Apply(Span<Candidate> candidates, float iouThreshold, int maxKeep)
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
                if (!cj.Suppressed && cj.ClassId == ci.ClassId && ci.Box.IoU(cj.Box) > iouThreshold)
                {
                    cj.Suppressed = true;
                }
            }
        }

        return kept;
    }
}
