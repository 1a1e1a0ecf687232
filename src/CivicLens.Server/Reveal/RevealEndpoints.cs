using System.Security.Claims;
using CivicLens.Privacy.Sealed;
using CivicLens.Server.Accounts;
using CivicLens.Server.Api;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using SkiaSharp;

namespace CivicLens.Server.Reveal;

public sealed record RevealAsk(string? CaseReference, string? Reason);

public sealed record RevealView(Guid Id, Guid Event, string RequestedBy, string CaseReference, DateTimeOffset RequestedAt, string? ApprovedBy, DateTimeOffset? ExpiresAt,
    bool Approved)
{
    public static RevealView From(RevealGrant g) =>
        new(g.Id, g.EventId, g.RequestedBy, g.CaseReference, g.RequestedAt, g.ApprovedBy, g.ExpiresAt, g.IsApproved);
}

/// <summary>
/// Sealed originals in the server: an investigator asks with a case reference and a written reason (optionally a
/// second investigator approves), then opens the unredacted frame until the grant expires (15 minutes). Every
/// step and every refusal goes into the hash-chained audit log; nothing else in the product can read an original.
/// </summary>
public static class RevealEndpoints
{
    public static void MapReveal(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api").WithTags("reveal").RequireAuthorization(Policies.Reveal);
        g.MapPost("/events/{id:guid}/reveal", AskAsync).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        g.MapPost("/reveals/{grant:guid}/approve", (Guid grant, ClaimsPrincipal p, IServiceProvider sp) => Run(sp, store =>
            TypedResults.Ok(RevealView.From(store.Approve(grant, CurrentUser.From(p)!.Name, PrivacyRole.Investigator)))));
        g.MapGet("/reveals/{grant:guid}/original", (Guid grant, ClaimsPrincipal p, HttpContext ctx, IServiceProvider sp) => Run<FileContentHttpResult>(sp, store =>
        {
            var original = store.Open(grant, CurrentUser.From(p)!.Name);
            try
            {
                ctx.Response.Headers.CacheControl = "no-store";
                return TypedResults.File(Jpeg(original), "image/jpeg", $"original-{original.EventId:N}.jpg");
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(original.Rgb);
            }
        }));
    }

    private static async Task<Results<Ok<RevealView>, ProblemHttpResult>> AskAsync(Guid id, RevealAsk body, ClaimsPrincipal p, IDbContextFactory<CivicLensDb> dbs,
        IServiceProvider sp, CancellationToken ct)
    {
        var user = CurrentUser.From(p)!;
        await using var db = await dbs.CreateDbContextAsync(ct);
        if (!await db.Events.AsNoTracking().InScope(user).AnyAsync(e => e.Id == id, ct)) return ApiProblems.NotFound("event");
        return Run(sp, store => TypedResults.Ok(RevealView.From(store.RequestReveal(new RevealRequest(id, user.Name, PrivacyRole.Investigator, body.CaseReference ?? "", body.Reason ?? "")))));
    }

    private static Results<T, ProblemHttpResult> Run<T>(IServiceProvider sp, Func<SealedOriginalStore, T> action)
        where T : IResult
    {
        if (sp.GetService<SealedOriginalStore>() is not { } store)
        {
            return TypedResults.Problem(title: "Not found", detail: "Sealed originals are not kept on this server.", statusCode: StatusCodes.Status404NotFound);
        }

        try
        {
            return action(store);
        }
        catch (SealingException ex)
        {
            // Already audited by the store; the reason is the investigator's to read.
            return TypedResults.Problem(title: "Reveal refused", detail: ex.Message, statusCode: StatusCodes.Status403Forbidden);
        }
    }

    private static byte[] Jpeg(RevealedOriginal original)
    {
        var info = new SKImageInfo(original.Width, original.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var pixels = bitmap.GetPixelSpan();
        var rgb = original.Rgb;
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            pixels[j] = rgb[i];
            pixels[j + 1] = rgb[i + 1];
            pixels[j + 2] = rgb[i + 2];
            pixels[j + 3] = 255;
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        var bytes = data.ToArray();
        pixels.Clear();
        return bytes;
    }
}

/// <summary>Sends the sealed-original store's audit records into the hash-chained audit log.</summary>
public sealed class ChainedRevealAudit(AuditLog log) : IRevealAudit
{
    public void Record(RevealAuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        // "reveal" with "ok" is an original actually opened: what the transparency register counts.
        var action = record.Action == "reveal.open" ? "reveal" : record.Action;
        log.Append(new AuditEntry(record.User, action, record.Allowed ? "ok" : "refused", "event:" + record.EventId,
            $"case {record.CaseReference}; reason: {record.Reason}; {record.Outcome}"));
    }
}
