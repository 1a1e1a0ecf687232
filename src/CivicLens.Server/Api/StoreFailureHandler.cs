using CivicLens.Server.Ingest;
using Microsoft.AspNetCore.Diagnostics;

namespace CivicLens.Server.Api;

/// <summary>
/// Unhandled errors become problem answers without stack traces: a database that is gone or full is a 503 with
/// Retry-After (the client tries again), anything else a plain 500. Malformed bodies are 400s.
/// </summary>
public static partial class StoreFailureHandler
{
    public static async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        int status;
        string title, detail;
        if (error is BadHttpRequestException bad)
        {
            status = bad.StatusCode;
            title = "Bad request";
            detail = "The request body is not valid JSON of the expected shape.";
        }
        else if (error is not null && StoreHealth.IsStoreFailure(error))
        {
            var health = context.RequestServices.GetRequiredService<StoreHealth>();
            var wasAvailable = health.StoreAvailable;
            var full = health.StoreUnreachable(error);
            // Once per outage, not once per refused request: a node retrying every few seconds would flood the log.
            if (wasAvailable) LogStoreDown(Logger(context), context.Request.Path, health.StoreProblem, error);
            status = StatusCodes.Status503ServiceUnavailable;
            title = "Service unavailable";
            detail = full ? "Storage is full; the write was not made. Try again later." : "The store is unavailable; nothing was changed. Try again shortly.";
            context.Response.Headers.RetryAfter = "5";
        }
        else
        {
            status = StatusCodes.Status500InternalServerError;
            title = "Internal error";
            detail = "Something went wrong on the server; it has been logged.";
            LogUnhandled(Logger(context), context.Request.Path, error);
        }

        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    private static ILogger Logger(HttpContext context) => context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CivicLens.Server");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store refused a write on {Path} ({Problem}); answering 503 until it takes writes again")]
    private static partial void LogStoreDown(ILogger logger, PathString path, string? problem, Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnhandled(ILogger logger, PathString path, Exception? ex);
}
