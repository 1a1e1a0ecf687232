namespace CivicLens.Domain.Tracking;

/// <summary>
/// Optimal rectangular assignment with a cost limit, on buffers that grow once and are then reused.
/// </summary>
/// <remarks>
/// Like ByteTrack's <c>lapjv(..., cost_limit)</c>: leaving a row or a column unmatched costs half the limit,
/// so a pair is only worth matching when its cost is below the limit, and one good match beats two poor
/// ones. The (rows + cols) square problem this makes is solved exactly by the shortest-augmenting-path
/// Hungarian method with potentials (Jonker-Volgenant family), O(n^3); n is the number of tracks plus
/// detections in one camera frame, so a few dozen.
/// </remarks>
internal sealed class LinearAssignment
{
    /// <summary>Cost of a pair that must never be matched.</summary>
    public const double Forbidden = double.PositiveInfinity;

    // Finite stand-in for forbidden pairs: potentials stay finite, and any mix of "unmatched" costs is cheaper.
    private const double Big = 1e9;

    private double[] _cost = new double[64];
    private double[] _square = new double[256];
    private double[] _u = new double[16];
    private double[] _v = new double[16];
    private double[] _minV = new double[16];
    private int[] _p = new int[16];
    private int[] _way = new int[16];
    private bool[] _used = new bool[16];

    /// <summary>
    /// A rows x cols cost buffer (row-major) to fill before <see cref="Solve"/>. Costs must be finite and
    /// not negative, or <see cref="Forbidden"/>.
    /// </summary>
    public Span<double> Costs(int rows, int cols)
    {
        var n = rows * cols;
        if (_cost.Length < n) _cost = new double[Math.Max(n, _cost.Length * 2)];
        return _cost.AsSpan(0, n);
    }

    /// <summary>
    /// Matches rows to columns minimising total cost, where pairs costing <paramref name="costLimit"/> or more
    /// are never matched. Writes the matched column of each row into <paramref name="rowToCol"/>, -1 when unmatched.
    /// Returns the number of matched pairs.
    /// </summary>
    public int Solve(int rows, int cols, double costLimit, Span<int> rowToCol)
    {
        rowToCol[..rows].Fill(-1);
        if (rows == 0 || cols == 0) return 0;

        var n = rows + cols;
        EnsureCapacity(n);
        var a = _square.AsSpan(0, n * n);
        var half = costLimit * 0.5;
        a.Fill(Big);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                var c = _cost[i * cols + j];
                if (c < costLimit) a[i * n + j] = c;
            }

            a[i * n + cols + i] = half; // row i left unmatched
        }

        for (var k = 0; k < cols; k++)
        {
            a[(rows + k) * n + k] = half; // column k left unmatched
            a.Slice((rows + k) * n + cols, rows).Clear(); // dummy meets dummy for free
        }

        Hungarian(n, a);

        var matched = 0;
        for (var j = 1; j <= cols; j++)
        {
            var i = _p[j] - 1;
            if (i < rows && a[i * n + j - 1] < costLimit)
            {
                rowToCol[i] = j - 1;
                matched++;
            }
        }

        return matched;
    }

    private void EnsureCapacity(int n)
    {
        if (_square.Length < n * n) _square = new double[n * n * 2];
        if (_u.Length <= n)
        {
            var size = (n + 1) * 2;
            _u = new double[size];
            _v = new double[size];
            _minV = new double[size];
            _p = new int[size];
            _way = new int[size];
            _used = new bool[size];
        }
    }

    // Square minimisation, 1-based potentials: _p[j] is the row (1-based) assigned to column j.
    private void Hungarian(int n, ReadOnlySpan<double> a)
    {
        var u = _u.AsSpan(0, n + 1);
        var v = _v.AsSpan(0, n + 1);
        var p = _p.AsSpan(0, n + 1);
        var way = _way.AsSpan(0, n + 1);
        var minV = _minV.AsSpan(0, n + 1);
        var used = _used.AsSpan(0, n + 1);
        u.Clear();
        v.Clear();
        p.Clear();
        way.Clear();

        for (var i = 1; i <= n; i++)
        {
            p[0] = i;
            var j0 = 0;
            minV.Fill(double.PositiveInfinity);
            used.Clear();
            do
            {
                used[j0] = true;
                var i0 = p[j0];
                var delta = double.PositiveInfinity;
                var j1 = 0;
                var row = a.Slice((i0 - 1) * n, n);
                for (var j = 1; j <= n; j++)
                {
                    if (used[j]) continue;
                    var cur = row[j - 1] - u[i0] - v[j];
                    if (cur < minV[j])
                    {
                        minV[j] = cur;
                        way[j] = j0;
                    }

                    if (minV[j] < delta)
                    {
                        delta = minV[j];
                        j1 = j;
                    }
                }

                for (var j = 0; j <= n; j++)
                {
                    if (used[j])
                    {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        minV[j] -= delta;
                    }
                }

                j0 = j1;
            }
            while (p[j0] != 0);

            do
            {
                var j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            }
            while (j0 != 0);
        }
    }
}
