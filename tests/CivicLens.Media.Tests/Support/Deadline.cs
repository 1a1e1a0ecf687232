namespace CivicLens.Media.Tests.Support;

/// <summary>Bounds an operation that must not hang; the failure says what was awaited.</summary>
public static class Deadline
{
    public static async Task<T> WithinAsync<T>(Task<T> task, TimeSpan timeout, string awaited)
    {
        try
        {
            return await task.WaitAsync(timeout);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {awaited}", ex);
        }
    }

    public static async Task WithinAsync(Task task, TimeSpan timeout, string awaited)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {awaited}", ex);
        }
    }
}
