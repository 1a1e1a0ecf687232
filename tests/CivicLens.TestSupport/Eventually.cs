using System.Diagnostics;

namespace CivicLens.TestSupport;

/// <summary>Waits on an explicit condition with a deadline; the failure says what was awaited.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string awaited)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {awaited}");
            }

            await Task.Delay(20);
        }
    }
}
