using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace CivicLens.Cli;

internal static class Logging
{
    /// <summary>Logs go to stderr so stdout stays pure JSON lines.</summary>
    public static ILoggerFactory Create(bool verbose) => LoggerFactory.Create(b => Configure(b, verbose ? LogLevel.Debug : LogLevel.Warning));

    public static void Configure(ILoggingBuilder b, LogLevel level)
    {
        b.ClearProviders();
        b.SetMinimumLevel(level);
        // ASP.NET Core's per-request lines are noise at information level; warnings still show.
        b.AddFilter("Microsoft.AspNetCore", level <= LogLevel.Debug ? level : LogLevel.Warning);
        b.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        // The cluster's runtime narrates every membership step at information level; its warnings and errors show.
        b.AddFilter("Orleans", level <= LogLevel.Debug ? level : LogLevel.Warning);
        b.AddFilter("Polly", LogLevel.Warning);
        // Its "keys stored unencrypted" warning is expected: the key folder is owner-only, like the database beside it.
        b.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }
}
