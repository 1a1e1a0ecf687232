using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Audit;
using CivicLens.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CivicLens.Server.Holds;

/// <summary>Legal holds for investigators and admins: list, place, extend, release; each change audited by the service.</summary>
public static class HoldEndpoints
{
    public static void MapHolds(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/holds").WithTags("holds").RequireAuthorization(Policies.ManageHolds);
        g.MapGet("/", ListAsync);
        g.MapPost("/", CreateAsync).ProducesValidationProblem();
        g.MapPost("/{id:long}/extend", ExtendAsync).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        g.MapPost("/{id:long}/release", ReleaseAsync).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<Ok<IReadOnlyList<HoldView>>> ListAsync(LegalHoldService holds, Auditor audit, bool? all, CancellationToken ct)
    {
        var list = await holds.ListAsync(all == true, ct);
        await audit.RecordAsync("holds.list", "ok", detail: $"{list.Count} holds");
        return TypedResults.Ok(list);
    }

    private static async Task<Results<Created<HoldView>, ValidationProblem>> CreateAsync(HoldRequest body, ClaimsPrincipal p, LegalHoldService holds, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        try
        {
            var hold = await holds.CreateAsync(body, user.Name, user.Areas, ct);
            return TypedResults.Created($"/api/holds/{hold.Id}", hold);
        }
        catch (HoldRefusedException ex)
        {
            return Refused(ex);
        }
    }

    private static async Task<Results<Ok<HoldView>, ValidationProblem, ProblemHttpResult>> ExtendAsync(long id, HoldExtension body, ClaimsPrincipal p, LegalHoldService holds,
        CancellationToken ct)
    {
        try
        {
            return await holds.ExtendAsync(id, body, CurrentUser.From(p)!.Name, ct) is { } hold ? TypedResults.Ok(hold) : ApiProblems.NotFound("legal hold");
        }
        catch (HoldRefusedException ex)
        {
            return Refused(ex);
        }
    }

    private static async Task<Results<Ok<HoldView>, ValidationProblem, ProblemHttpResult>> ReleaseAsync(long id, HoldRelease body, ClaimsPrincipal p, LegalHoldService holds,
        CancellationToken ct)
    {
        try
        {
            return await holds.ReleaseAsync(id, body, CurrentUser.From(p)!.Name, ct) is { } hold ? TypedResults.Ok(hold) : ApiProblems.NotFound("legal hold");
        }
        catch (HoldRefusedException ex)
        {
            return Refused(ex);
        }
    }

    private static ValidationProblem Refused(HoldRefusedException ex) =>
        TypedResults.ValidationProblem(ex.Problems.GroupBy(x => x.Field).ToDictionary(x => x.Key, x => x.Select(y => y.Message).ToArray()));
}
