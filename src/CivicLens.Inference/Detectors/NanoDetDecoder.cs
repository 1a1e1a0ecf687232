using CivicLens.Domain.Geometry;

namespace CivicLens.Inference.Detectors;

/// <summary>
/// Turns NanoDet's per-level outputs into boxes. Each level (stride 8/16/32) has, per grid cell, class
/// scores that are already sigmoid and a distance distribution per box side (regMax + 1 bins): softmax
/// per side, expected bin times stride, measured from the cell centre ((cell + 0.5) * stride).
/// </summary>
internal sealed class NanoDetDecoder
{
    internal readonly record struct Level(int Stride, int GridWidth, int GridHeight, int ClassOutput, int BoxOutput)
    {
        public int Cells => GridWidth * GridHeight;
    }

    private readonly Level[] _levels;
    private readonly int _numClasses;
    private readonly int _bins;
    private readonly float[] _minScore;
    private readonly float _floorScore;

    public NanoDetDecoder(Level[] levels, int numClasses, int bins, float[] minScoreByClass)
    {
        _levels = levels;
        _numClasses = numClasses;
        _bins = bins;
        _minScore = minScoreByClass;
        _floorScore = minScoreByClass.Where(s => s <= 1f).DefaultIfEmpty(1f).Min();
    }

    public IReadOnlyList<Level> Levels => _levels;

    /// <summary>
    /// Appends candidates of image <paramref name="image"/> of a batch; <paramref name="outputWidths"/> is each output's size per image.
    /// Box coordinates are scaled by (scaleX, scaleY) from tensor to frame pixels.
    /// </summary>
    public int Decode(float[][] outputs, int[] outputWidths, int image, float scaleX, float scaleY, Span<Nms.Candidate> candidates)
    {
        var count = 0;
        Span<float> dist = stackalloc float[4];
        foreach (var level in _levels)
        {
            var cls = outputs[level.ClassOutput].AsSpan(image * outputWidths[level.ClassOutput], outputWidths[level.ClassOutput]);
            var reg = outputs[level.BoxOutput].AsSpan(image * outputWidths[level.BoxOutput], outputWidths[level.BoxOutput]);
            for (var cell = 0; cell < level.Cells; cell++)
            {
                var scores = cls.Slice(cell * _numClasses, _numClasses);
                var best = -1;
                var bestScore = _floorScore;
                for (var c = 0; c < scores.Length; c++)
                {
                    var s = scores[c];
                    if (s >= bestScore && s >= _minScore[c])
                    {
                        bestScore = s;
                        best = c;
                    }
                }

                if (best < 0) continue;
                if (count == candidates.Length) return count;

                var d = reg.Slice(cell * 4 * _bins, 4 * _bins);
                for (var side = 0; side < 4; side++)
                {
                    dist[side] = Expectation(d.Slice(side * _bins, _bins)) * level.Stride;
                }

                var cx = (cell % level.GridWidth + 0.5f) * level.Stride;
                var cy = (cell / level.GridWidth + 0.5f) * level.Stride;
                candidates[count++] = new Nms.Candidate
                {
                    Box = BoxF.FromCorners((cx - dist[0]) * scaleX, (cy - dist[1]) * scaleY, (cx + dist[2]) * scaleX, (cy + dist[3]) * scaleY),
                    ClassId = best,
                    Score = bestScore,
                };
            }
        }

        return count;
    }

    private static float Expectation(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        float sum = 0, weighted = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var e = MathF.Exp(logits[i] - max);
            sum += e;
            weighted += e * i;
        }

        return weighted / sum;
    }
}
