using CivicLens.Domain.Tracking;

namespace CivicLens.Domain.Tests.Tracking;

public sealed class LinearAssignmentTests
{
    [Fact]
    public void Solve_RandomMatrices_MatchesBruteForceOptimum()
    {
        var random = new Random(42);
        var solver = new LinearAssignment(); // reused on purpose: buffers of every size must not leak state
        for (var trial = 0; trial < 400; trial++)
        {
            var rows = random.Next(0, 6);
            var cols = random.Next(0, 6);
            var limit = 0.3 + random.NextDouble() * 0.7;
            var costs = new double[rows * cols];
            for (var i = 0; i < costs.Length; i++)
            {
                costs[i] = random.NextDouble() < 0.2 ? LinearAssignment.Forbidden : random.NextDouble();
            }

            costs.CopyTo(solver.Costs(rows, cols));
            var rowToCol = new int[rows];
            var matched = solver.Solve(rows, cols, limit, rowToCol);

            Assert.Equal(matched, rowToCol.Count(c => c >= 0));
            Assert.Equal(rowToCol.Where(c => c >= 0).Count(), rowToCol.Where(c => c >= 0).Distinct().Count());
            for (var r = 0; r < rows; r++)
            {
                if (rowToCol[r] >= 0) Assert.True(costs[r * cols + rowToCol[r]] < limit, "matched a pair at or above the limit");
            }

            var expected = BruteForce(costs, rows, cols, limit, 0, new bool[cols], 0);
            Assert.Equal(expected, Objective(costs, rows, cols, limit, rowToCol), 9);
        }
    }

    [Fact]
    public void Solve_OneGoodPairAgainstTwoPoorOnes_PrefersTheGoodPair()
    {
        // Track 0 fits detection 0 well; the only way to match both tracks is two poor pairs.
        var solver = new LinearAssignment();
        double[] costs = [0.1, 0.7, 0.7, LinearAssignment.Forbidden];
        costs.CopyTo(solver.Costs(2, 2));
        var rowToCol = new int[2];
        Assert.Equal(1, solver.Solve(2, 2, 0.8, rowToCol));
        Assert.Equal([0, -1], rowToCol);
    }

    [Fact]
    public void Solve_AllForbidden_MatchesNothing()
    {
        var solver = new LinearAssignment();
        solver.Costs(3, 2).Fill(LinearAssignment.Forbidden);
        var rowToCol = new int[3];
        Assert.Equal(0, solver.Solve(3, 2, 0.8, rowToCol));
        Assert.All(rowToCol, c => Assert.Equal(-1, c));
    }

    private static double Objective(double[] costs, int rows, int cols, double limit, int[] rowToCol)
    {
        var matched = rowToCol.Count(c => c >= 0);
        var sum = 0.0;
        for (var r = 0; r < rows; r++) if (rowToCol[r] >= 0) sum += costs[r * cols + rowToCol[r]];
        return sum + (rows - matched + cols - matched) * limit / 2;
    }

    // Every partial matching of pairs below the limit; unmatched rows and columns cost half the limit each.
    private static double BruteForce(double[] costs, int rows, int cols, double limit, int row, bool[] usedCols, int matched)
    {
        if (row == rows) return (rows - matched + cols - matched) * limit / 2;
        var best = BruteForce(costs, rows, cols, limit, row + 1, usedCols, matched);
        for (var c = 0; c < cols; c++)
        {
            var cost = costs[row * cols + c];
            if (usedCols[c] || !(cost < limit)) continue;
            usedCols[c] = true;
            best = Math.Min(best, cost + BruteForce(costs, rows, cols, limit, row + 1, usedCols, matched + 1));
            usedCols[c] = false;
        }

        return best;
    }
}
