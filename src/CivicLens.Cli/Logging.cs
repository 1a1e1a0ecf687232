using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace CivicLens.Cli;

internal static class Logging
{
    /// <summary>Logs go to stderr so stdout stays pure JSON lines.</summary>
    public static ILoggerFactory Create(bool verbose) => LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Warning);
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });
}
