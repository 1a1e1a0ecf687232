using CivicLens.Domain.Detection;
using CivicLens.Domain.Frames;

namespace CivicLens.Cli;

/// <summary>Turns the failures an operator can fix into one clear line on stderr and exit code 1.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled");
            return 130;
        }
        catch (CivicLens.Server.Hosting.StartupException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return 2;
        }
        catch (CivicLens.Rules.Configuration.ConfigException ex)
        {
            // Every problem, each on its own line with file, line and field.
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return 2;
        }
        catch (Exception ex) when (ex is FrameSourceException or CivicLens.Privacy.Sealed.SealingException or ModelException or IOException or UnauthorizedAccessException
                                       or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message);
            return 1;
        }
    }
}
