using System.Security.Claims;
using CivicLens.Server.Accounts;
using CivicLens.Server.Audit;
using CivicLens.Server.Security;
using CivicLens.Storage;
using CivicLens.Storage.Entities;
using CivicLens.Storage.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace CivicLens.Server.Api;

public sealed record UserView(long Id, string UserName, string Role, IReadOnlyList<string>? Areas, bool SecondFactor, bool Disabled, bool Locked);

public sealed record NewUser(string UserName, string Password, string Role, IReadOnlyList<string>? Areas);

public sealed record KeyView(long Id, string Name, string Scope, DateTimeOffset Created, bool Revoked);

/// <param name="Scope"><c>ingest</c> (analysis nodes, the default) or <c>open311</c> (311 apps filing reports).</param>
public sealed record NewKey(string Name, string? Scope = null);

/// <summary>A key is shown once, when it is made; only its hash is kept.</summary>
public sealed record CreatedKey(long Id, string Name, string Key);

public sealed record AuditView(long Seq, DateTimeOffset At, string Actor, string Action, string? Target, string Outcome, string? Detail, string Hash);

/// <summary>Accounts and API keys (admin), and the audit log (auditor).</summary>
public static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users").WithTags("admin").RequireAuthorization(Policies.Configure);
        users.MapGet("/", async (IDbContextFactory<CivicLensDb> dbs, TimeProvider time, CancellationToken ct) =>
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            return TypedResults.Ok(await db.Users.AsNoTracking().OrderBy(u => u.UserName)
                .Select(u => new UserView(u.Id, u.UserName, u.Role, u.AreaScope == null ? null : u.AreaScope.Split(',', StringSplitOptions.None),
                    u.TotpConfirmed, u.Disabled, u.LockedUntil != null && u.LockedUntil > now)).ToListAsync(ct));
        });
        users.MapPost("/", CreateUserAsync).ProducesValidationProblem();
        users.MapPost("/{id:long}/disable", (long id, IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct) =>
            ChangeUserAsync(id, u => u.Disabled = true, "user.disable", dbs, audit, ct));
        users.MapPost("/{id:long}/enable", (long id, IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct) =>
            ChangeUserAsync(id, u => u.Disabled = false, "user.enable", dbs, audit, ct));
        users.MapPost("/{id:long}/reset-second-factor", (long id, IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct) =>
            ChangeUserAsync(id, u =>
            {
                u.TotpSealed = null;
                u.TotpConfirmed = false;
            }, "user.reset-second-factor", dbs, audit, ct));

        var keys = app.MapGroup("/api/keys").WithTags("admin").RequireAuthorization(Policies.Configure);
        keys.MapGet("/", async (IDbContextFactory<CivicLensDb> dbs, CancellationToken ct) =>
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var rows = await db.ApiKeys.AsNoTracking().OrderBy(k => k.Id).ToListAsync(ct);
            return TypedResults.Ok(rows.Select(k => new KeyView(k.Id, k.Name, k.Scope, DateTimeOffset.FromUnixTimeMilliseconds(k.CreatedAt), k.Revoked)).ToList());
        });
        keys.MapPost("/", CreateKeyAsync).ProducesValidationProblem();
        keys.MapPost("/{id:long}/revoke", async Task<Results<NoContent, ProblemHttpResult>> (long id, IDbContextFactory<CivicLensDb> dbs, Auditor audit, CancellationToken ct) =>
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, ct);
            if (key is null) return ApiProblems.NotFound("key");
            key.Revoked = true;
            await db.SaveChangesAsync(ct);
            await audit.RecordAsync("key.revoke", "ok", "key:" + key.Name);
            return TypedResults.NoContent();
        });

        var audit = app.MapGroup("/api/audit").WithTags("audit").RequireAuthorization(Policies.ReadAudit);
        audit.MapGet("/", ListAuditAsync).ProducesProblem(StatusCodes.Status400BadRequest);
        audit.MapGet("/verify", async (AuditLog log, Auditor auditor, CancellationToken ct) =>
        {
            var result = await log.VerifyAsync(ct);
            await auditor.RecordAsync("audit.verify", result.Intact ? "ok" : "broken", detail: result.Problem);
            return TypedResults.Ok(result);
        });
    }

    private static async Task<Results<Ok<UserView>, ValidationProblem>> CreateUserAsync(NewUser body, AccountService accounts, IDbContextFactory<CivicLensDb> dbs, Auditor audit,
        CancellationToken ct)
    {
        if (body.Areas is { Count: > 0 })
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            var known = await db.Areas.Select(a => a.Id).ToListAsync(ct);
            var unknown = body.Areas.Where(a => !known.Contains(a)).ToList();
            if (unknown.Count > 0) return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["areas"] = [$"unknown areas: {string.Join(", ", unknown)}"] });
        }

        try
        {
            var u = await accounts.CreateAsync(body.UserName, body.Password, body.Role, body.Areas, ct);
            await audit.RecordAsync("user.create", "ok", "user:" + u.UserName, $"role {u.Role}" + (u.AreaScope is null ? "" : $", areas {u.AreaScope}"));
            return TypedResults.Ok(new UserView(u.Id, u.UserName, u.Role, u.AreaScope?.Split(','), false, false, false));
        }
        catch (AccountException ex)
        {
            await audit.RecordAsync("user.create", "refused", "user:" + body.UserName, ex.Message);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["user"] = [ex.Message] });
        }
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ChangeUserAsync(long id, Action<User> change, string action, IDbContextFactory<CivicLensDb> dbs,
        Auditor audit, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var u = await db.Users.FirstOrDefaultAsync(x => x.Id == id, ct);
        if (u is null) return ApiProblems.NotFound("user");
        change(u);
        // Every session the account had ends now.
        u.SecurityStamp = AccountService.NewStamp();
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(action, "ok", "user:" + u.UserName);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<CreatedKey>, ValidationProblem>> CreateKeyAsync(NewKey body, IDbContextFactory<CivicLensDb> dbs, Auditor audit, TimeProvider time,
        CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.Name) || body.Name.Length > 64)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["is required (at most 64 characters)"] });
        }

        var scope = body.Scope ?? ApiKeyHandler.IngestScope;
        if (!ApiKeyHandler.Scopes.ContainsKey(scope))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["scope"] = [$"is one of: {string.Join(", ", ApiKeyHandler.Scopes.Keys)}"] });
        }

        var secret = ApiKeyHandler.NewKey();
        await using var db = await dbs.CreateDbContextAsync(ct);
        var key = new ApiKey { Name = body.Name.Trim(), Hash = ApiKeyHandler.HashKey(secret), Scope = scope, CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds() };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync("key.create", "ok", "key:" + key.Name, "scope " + key.Scope);
        return TypedResults.Ok(new CreatedKey(key.Id, key.Name, secret));
    }

    private static async Task<Results<Ok<Page<AuditView>>, ProblemHttpResult>> ListAuditAsync(IDbContextFactory<CivicLensDb> dbs, string? action, string? actor, long? before,
        int? limit, CancellationToken ct)
    {
        var take = limit ?? TimeCursor.DefaultLimit;
        if (take is < 1 or > TimeCursor.MaxLimit) return ApiProblems.BadRequest($"limit must be between 1 and {TimeCursor.MaxLimit}");
        await using var db = await dbs.CreateDbContextAsync(ct);
        var q = db.Audit.AsNoTracking();
        if (action is not null) q = q.Where(a => a.Action == action);
        if (actor is not null) q = q.Where(a => a.Actor == actor);
        if (before is not null) q = q.Where(a => a.Seq < before);
        var rows = await q.OrderByDescending(a => a.Seq).Take(take + 1).ToListAsync(ct);
        string? next = null;
        if (rows.Count > take)
        {
            rows.RemoveAt(take);
            next = rows[^1].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return TypedResults.Ok(new Page<AuditView>(rows.Select(a => new AuditView(a.Seq, DateTimeOffset.FromUnixTimeMilliseconds(a.At), a.Actor, a.Action, a.Target, a.Outcome,
            a.Detail, a.Hash)).ToList(), next));
    }
}
