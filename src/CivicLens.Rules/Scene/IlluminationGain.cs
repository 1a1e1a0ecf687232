namespace CivicLens.Rules.Scene;

/// <summary>
/// How much brighter or darker the whole view got against a reference: the median of per-cell brightness ratios.
/// A cloud or an exposure step changes every cell by about the same factor; a new object changes a few cells a lot
/// and barely moves the median (it stays right while less than half of the cells used are foreground).
/// </summary>
internal sealed class IlluminationGain
{
    private const int Bins = 512;
    private const float BinsPerUnit = 128f; // ratios 0 to 4 in steps of 1/128

    /// <summary>Added to both sides of the ratio so that near-black cells do not swing it.</summary>
    private const float Offset = 8f;

    private readonly int[] _histogram = new int[Bins];

    /// <summary>
    /// The factor that maps <paramref name="reference"/> onto <paramref name="current"/> over the cells flagged in
    /// <paramref name="use"/>; null when fewer than <paramref name="minCells"/> cells can be used.
    /// </summary>
    public float? Estimate(ReadOnlySpan<float> current, ReadOnlySpan<float> reference, ReadOnlySpan<bool> use, int minCells)
    {
        Array.Clear(_histogram);
        var n = 0;
        for (var i = 0; i < use.Length; i++)
        {
            if (!use[i]) continue;
            var ratio = (current[i] + Offset) / (reference[i] + Offset);
            var bin = Math.Clamp((int)(ratio * BinsPerUnit), 0, Bins - 1);
            _histogram[bin]++;
            n++;
        }

        if (n < Math.Max(1, minCells)) return null;
        var half = (n + 1) / 2;
        var seen = 0;
        for (var b = 0; b < Bins; b++)
        {
            seen += _histogram[b];
            if (seen >= half) return MathF.Max(0.05f, (b + 0.5f) / BinsPerUnit);
        }

        return 1f;
    }

    /// <summary>The current grey level brought back to the reference's lighting (the offset keeps dark cells stable).</summary>
    public static float Normalise(float current, float gain) => (current + Offset) / gain - Offset;
}
