using System.CommandLine;
using CivicLens.Domain;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens serve</c>: the operations server (store, API, live feed) with the configured cameras' pipelines,
/// on SQLite in the data folder unless a PostgreSQL connection is given. And <c>civiclens audit verify</c>.
/// </summary>
internal static class ServeCommand
{
    public const string AdminPasswordVariable = "CIVICLENS_ADMIN_PASSWORD";
    public const string PostgresVariable = "CIVICLENS_POSTGRES";

    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "District and camera configuration (YAML); its cameras run in this process" };
        var data = DataOption();
        var urls = new Option<string[]>("--urls")
        {
            Description = "Where to listen (default http://127.0.0.1:8080); anything beyond loopback must be https with --certificate",
            DefaultValueFactory = _ => ["http://127.0.0.1:8080"],
            AllowMultipleArgumentsPerToken = true,
        };
        var certificate = new Option<string?>("--certificate") { Description = "PFX certificate for https addresses" };
        var certificatePassword = new Option<string?>("--certificate-password-file") { Description = "File holding the certificate's password" };
        var postgres = PostgresOption();
        var adminPassword = new Option<string?>("--admin-password-file")
        {
            Description = $"First start only: file holding the admin password (or set {AdminPasswordVariable}; asked for on a terminal)",
        };
        var models = CommonOptions.ModelsDirectory();
        var fps = new Option<double?>("--fps") { Description = "Frames per second each camera analyses (default: every frame)" };
        var noPipelines = new Option<bool>("--no-pipelines") { Description = "Serve only; analysis nodes post events with an API key" };
        var verbose = CommonOptions.Verbose();
        var serve = new Command("serve", "Run the operations server with the configured cameras")
        {
            config, data, urls, certificate, certificatePassword, postgres, adminPassword, models, fps, noPipelines, verbose,
        };
        serve.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var password = Environment.GetEnvironmentVariable(AdminPasswordVariable);
            if (parse.GetValue(adminPassword) is { } file) password = (await File.ReadAllTextAsync(file, ct)).TrimEnd('\r', '\n');
            var options = new ServerOptions
            {
                DataDirectory = parse.GetValue(data)!,
                Storage = Storage(parse.GetValue(postgres)),
                Urls = parse.GetValue(urls)!,
                CertificatePath = parse.GetValue(certificate),
                CertificatePassword = parse.GetValue(certificatePassword) is { } cp ? (await File.ReadAllTextAsync(cp, ct)).Trim() : null,
                ConfigPath = parse.GetValue(config),
                ModelsDirectory = parse.GetValue(models),
                SampleFps = parse.GetValue(fps),
                RunPipelines = !parse.GetValue(noPipelines),
                AdminPassword = password,
            };
            var level = parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information;
            WebApplication app;
            try
            {
                app = await ServerHost.BuildAsync(options, b => Logging.Configure(b.Logging, level), ct);
            }
            catch (StartupException ex) when (ex.Message.StartsWith("First start", StringComparison.Ordinal) && !Console.IsInputRedirected)
            {
                // On a terminal the first admin password is asked for (twice), never echoed.
                await Console.Error.WriteLineAsync(ex.Message);
                var typed = ReadSecret("admin password: ");
                if (typed != ReadSecret("again: ")) throw new StartupException("The two passwords differ.");
                app = await ServerHost.BuildAsync(options with { AdminPassword = typed }, b => Logging.Configure(b.Logging, level), ct);
            }

            await using (app)
            {
                await app.StartAsync(ct);
                foreach (var url in app.Urls) await Console.Out.WriteLineAsync($"CivicLens is serving on {url} (log in as admin)");
                await app.WaitForShutdownAsync(ct);
            }

            return 0;
        }));

        return serve;
    }

    public static Command CreateAudit()
    {
        var data = DataOption();
        var postgres = PostgresOption();
        var verify = new Command("verify", "Check the audit log's hash chain: exit 0 when intact, 3 when a record was changed or removed") { data, postgres };
        verify.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var dataDir = parse.GetValue(data)!;
            var storage = Storage(parse.GetValue(postgres)) ?? StorageOptions.SqliteFile(Path.Combine(dataDir, "civiclens.db"));
            if (storage.Provider == StorageProvider.Sqlite && !File.Exists(Path.Combine(dataDir, "civiclens.db")))
            {
                throw new IOException($"No database in {dataDir} (give --data, or --postgres).");
            }

            var log = new AuditLog(storage, TimeProvider.System, Path.Combine(dataDir, "audit.anchor"));
            var result = await log.VerifyAsync(ct);
            if (result.Intact)
            {
                await Console.Out.WriteLineAsync($"audit log intact: {result.RecordsVerified} records verified");
                return 0;
            }

            await Console.Out.WriteLineAsync($"audit log BROKEN at record {result.BrokenAt}: {result.Problem} ({result.RecordsVerified} records before it verified)");
            return 3;
        }));
        return new Command("audit", "The audit log") { verify };
    }

    private static Option<string> DataOption() => new("--data")
    {
        Description = "Server data folder: SQLite database, snapshots, keys (default: $CIVICLENS_HOME/server)",
        DefaultValueFactory = _ => Path.Combine(CivicLensHome.Resolve().Root, "server"),
    };

    private static Option<string?> PostgresOption() => new("--postgres")
    {
        Description = $"Use PostgreSQL 15+ with this Npgsql connection string (or set {PostgresVariable}; prefer the variable, it stays out of ps)",
    };

    private static StorageOptions? Storage(string? postgres)
    {
        postgres ??= Environment.GetEnvironmentVariable(PostgresVariable);
        return string.IsNullOrWhiteSpace(postgres) ? null : new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = postgres };
    }

    private static string ReadSecret(string prompt)
    {
        Console.Error.Write(prompt);
        var chars = new System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace)
            {
                if (chars.Length > 0) chars.Length--;
                continue;
            }

            chars.Append(key.KeyChar);
        }

        Console.Error.WriteLine();
        return chars.ToString();
    }
}
