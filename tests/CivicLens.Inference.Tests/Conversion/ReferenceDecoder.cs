namespace CivicLens.Inference.Tests.Conversion;

/// <summary>A decoded NanoDet box in 416x416 input pixels.</summary>
internal sealed record RefDetection(int ClassId, float Score, float X1, float Y1, float X2, float Y2)
{
    public float IoU(RefDetection o)
    {
        var w = Math.Max(0, Math.Min(X2, o.X2) - Math.Max(X1, o.X1));
        var h = Math.Max(0, Math.Min(Y2, o.Y2) - Math.Max(Y1, o.Y1));
        var inter = w * h;
        var union = ((X2 - X1) * (Y2 - Y1)) + ((o.X2 - o.X1) * (o.Y2 - o.Y1)) - inter;
        return union > 0 ? inter / union : 0;
    }

    public override string ToString() => $"class {ClassId} {Score:0.000} [{X1:0.0},{Y1:0.0},{X2:0.0},{Y2:0.0}]";
}

/// <summary>
/// The NanoDet (GFL head) decode the reference script does in JavaScript, written again here so the test
/// compares like with like without depending on the production decoder: per cell the best class; each of
/// the 4 sides is the softmax expectation over 11 bins times the stride; centre (cell + 0.5) * stride;
/// score threshold, then class-wise NMS.
/// </summary>
internal static class ReferenceDecoder
{
    private const int Bins = 11;

    public static List<RefDetection> Decode(IReadOnlyDictionary<string, float[]> outputs, int classes, int inputSize, float threshold, float nmsIou)
    {
        var candidates = new List<(RefDetection D, int Level, int Cell)>();
        var level = 0;
        foreach (var stride in new[] { 8, 16, 32 })
        {
            var cls = outputs[$"cls_{stride}"];
            var box = outputs[$"box_{stride}"];
            var grid = (inputSize + stride - 1) / stride;
            for (var cell = 0; cell < grid * grid; cell++)
            {
                var best = 0;
                var bestScore = -1f;
                for (var c = 0; c < classes; c++)
                {
                    var s = cls[(cell * classes) + c];
                    if (s > bestScore)
                    {
                        bestScore = s;
                        best = c;
                    }
                }

                if (bestScore < threshold) continue;
                var d = new double[4];
                for (var side = 0; side < 4; side++)
                {
                    var off = (cell * 4 * Bins) + (side * Bins);
                    var max = double.NegativeInfinity;
                    for (var b = 0; b < Bins; b++) max = Math.Max(max, box[off + b]);
                    double sum = 0, expect = 0;
                    for (var b = 0; b < Bins; b++)
                    {
                        var e = Math.Exp(box[off + b] - max);
                        sum += e;
                        expect += e * b;
                    }

                    d[side] = expect / sum * stride;
                }

                var cx = ((cell % grid) + 0.5) * stride;
                var cy = ((cell / grid) + 0.5) * stride;
                candidates.Add((new RefDetection(best, bestScore, (float)(cx - d[0]), (float)(cy - d[1]), (float)(cx + d[2]), (float)(cy + d[3])), level, cell));
            }

            level++;
        }

        var kept = new List<RefDetection>();
        foreach (var (c, _, _) in candidates.OrderByDescending(c => c.D.Score).ThenBy(c => c.Level).ThenBy(c => c.Cell))
        {
            if (kept.Any(k => k.ClassId == c.ClassId && k.IoU(c) > nmsIou)) continue;
            kept.Add(c);
        }

        return kept;
    }
}
