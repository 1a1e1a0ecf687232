using Microsoft.AspNetCore.Http.HttpResults;

namespace CivicLens.Server.Api;

/// <summary>The problem answers every endpoint shares, so clients see one shape (RFC 9457).</summary>
public static class ApiProblems
{
    /// <summary>Also the answer for an object outside the caller's scope: its existence is not disclosed.</summary>
    public static ProblemHttpResult NotFound(string what) =>
        TypedResults.Problem(title: "Not found", detail: $"No {what} with that id.", statusCode: StatusCodes.Status404NotFound);

    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(title: "Bad request", detail: detail, statusCode: StatusCodes.Status400BadRequest);

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(title: "Conflict", detail: detail, statusCode: StatusCodes.Status409Conflict);

    public static ProblemHttpResult Unavailable(string detail) =>
        TypedResults.Problem(title: "Service unavailable", detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable);
}
