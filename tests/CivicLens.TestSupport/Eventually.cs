using System.Diagnostics;

namespace CivicLens.TestSupport;

/// <summary>Waits on an explicit condition with a deadline; the failure says what was awaited.</summary>
public static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string awaited) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, awaited, TimeSpan.FromMilliseconds(20));

    /// <summary>The same for a condition that has to ask (a request, a query); it is asked every 250 ms.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string awaited) =>
        TrueAsync(condition, timeout, awaited, TimeSpan.FromMilliseconds(250));

    private static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string awaited, TimeSpan poll)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {awaited}");
            }

            await Task.Delay(poll);
        }
    }
}
