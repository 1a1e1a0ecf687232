using System.CommandLine;
using System.Globalization;
using CivicLens.Server.Holds;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens holds list|create|extend|release</c>: legal holds straight in the store, for the administrator at the
/// server's console (the same rules and audit as the API; the audit names the operating-system user as <c>cli:NAME</c>).
/// A running server sees a change at its next retention pass.
/// </summary>
internal static class HoldsCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all") { Description = "Also released and expired holds" };
        var list = new Command("list", "The holds in force (newest first)") { all };
        var listStore = Store(list);
        list.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (service, _) = await OpenAsync(parse, listStore, ct);
            var holds = await service.ListAsync(parse.GetValue(all), ct);
            foreach (var h in holds) await Console.Out.WriteLineAsync(Line(h));
            if (holds.Count == 0) await Console.Out.WriteLineAsync("no holds");
            return 0;
        }));

        var scope = new Option<string>("--scope") { Description = "case, event, report or camera", Required = true };
        var target = new Option<string>("--target") { Description = "The case or report id, the event id, or the camera id", Required = true };
        var reference = new Option<string>("--reference") { Description = "The legal matter's reference (court, police or insurer's case number)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why it is held (recorded in the audit log)", Required = true };
        var expires = new Option<DateTimeOffset>("--expires") { Description = "When the hold ends on its own (ISO 8601, e.g. 2027-06-30T00:00:00Z)", Required = true };
        var from = new Option<DateTimeOffset?>("--from") { Description = "A camera's held evidence: from (ISO 8601)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "A camera's held evidence: to (ISO 8601)" };
        var create = new Command("create", "Place a hold: what it names is kept past its retention until the hold ends") { scope, target, reference, reason, expires, from, to };
        var createStore = Store(create);
        create.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (service, actor) = await OpenAsync(parse, createStore, ct);
            var request = new HoldRequest(parse.GetValue(scope)!, parse.GetValue(target)!, parse.GetValue(reference)!, parse.GetValue(reason)!,
                parse.GetValue(expires), parse.GetValue(from), parse.GetValue(to));
            return await RefusedAsExitCode(async () => await Console.Out.WriteLineAsync("placed " + Line(await service.CreateAsync(request, actor, null, ct))));
        }));

        var id = new Argument<long>("id") { Description = "The hold's number (holds list)" };
        var extendTo = new Option<DateTimeOffset>("--expires") { Description = "The new end (later than the present one; ISO 8601)", Required = true };
        var extendWhy = new Option<string>("--reason") { Description = "Why it is extended", Required = true };
        var extend = new Command("extend", "Move a hold's end later") { id, extendTo, extendWhy };
        var extendStore = Store(extend);
        extend.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (service, actor) = await OpenAsync(parse, extendStore, ct);
            return await RefusedAsExitCode(async () =>
            {
                var hold = await service.ExtendAsync(parse.GetValue(id), new HoldExtension(parse.GetValue(extendTo), parse.GetValue(extendWhy)!), actor, ct)
                    ?? throw new HoldRefusedException("id", "names no hold");
                await Console.Out.WriteLineAsync("extended " + Line(hold));
            });
        }));

        var releaseWhy = new Option<string>("--reason") { Description = "Why it is released (recorded with the hold)", Required = true };
        var release = new Command("release", "End a hold before its expiry; what it kept is under its retention again") { id, releaseWhy };
        var releaseStore = Store(release);
        release.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var (service, actor) = await OpenAsync(parse, releaseStore, ct);
            return await RefusedAsExitCode(async () =>
            {
                var hold = await service.ReleaseAsync(parse.GetValue(id), new HoldRelease(parse.GetValue(releaseWhy)!), actor, ct)
                    ?? throw new HoldRefusedException("id", "names no hold");
                await Console.Out.WriteLineAsync("released " + Line(hold));
            });
        }));

        return new Command("holds", "Legal holds: evidence, cases and reports kept past their retention for a legal matter") { list, create, extend, release };
    }

    /// <summary>Each subcommand's own <c>--data</c> and <c>--postgres</c> (an option belongs to one command).</summary>
    private static (Option<string> Data, Option<string?> Postgres) Store(Command command)
    {
        var data = ServeCommand.DataOption();
        var postgres = ServeCommand.PostgresOption();
        command.Options.Add(data);
        command.Options.Add(postgres);
        return (data, postgres);
    }

    private static async Task<(LegalHoldService Service, string Actor)> OpenAsync(ParseResult parse, (Option<string> Data, Option<string?> Postgres) store, CancellationToken ct)
    {
        var server = new ServerOptions { DataDirectory = parse.GetValue(store.Data)!, Storage = ServeCommand.Storage(parse.GetValue(store.Postgres)) };
        var storage = server.EffectiveStorage;
        if (storage.Provider == StorageProvider.Sqlite && !File.Exists(server.DatabasePath))
        {
            throw new IOException($"No database in {server.DataDirectory} (give --data, or --postgres).");
        }

        await StorageSetup.MigrateAsync(storage, ct);
        var dbs = new PooledDbContextFactory<CivicLensDb>(StorageSetup.Options(storage));
        var audit = new AuditLog(storage, TimeProvider.System, server.AuditAnchorPath);
        return (new LegalHoldService(dbs, audit, TimeProvider.System), "cli:" + Environment.UserName);
    }

    /// <summary>A refused request is the caller's mistake: its problems on stderr, exit code 2, like a refused configuration.</summary>
    private static async Task<int> RefusedAsExitCode(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (HoldRefusedException ex)
        {
            foreach (var p in ex.Problems) await Console.Error.WriteLineAsync($"error: {p}".TrimEnd());
            return 2;
        }
    }

    private static string Line(HoldView h)
    {
        static string T(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var span = h.From is { } f && h.To is { } t ? $" {T(f)}..{T(t)}" : "";
        var state = h.ReleasedAt is { } r ? $"released {T(r)} by {h.ReleasedBy}: {h.ReleaseReason}" : h.Active ? "in force" : "expired";
        return string.Create(CultureInfo.InvariantCulture,
            $"#{h.Id} {h.Scope} {h.Target}{span} [{h.CaseReference}] until {T(h.ExpiresAt)}, {state}; by {h.CreatedBy} {T(h.CreatedAt)}: {h.Reason}");
    }
}
