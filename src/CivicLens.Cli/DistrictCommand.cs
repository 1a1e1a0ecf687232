using System.CommandLine;
using CivicLens.Rules.Configuration;
using CivicLens.Server.Cameras;
using CivicLens.Server.Hosting;
using CivicLens.Storage;
using CivicLens.Storage.Audit;
using CivicLens.Storage.Secrets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens district import FILE</c>: brings a district file (YAML: areas, departments, sites and cameras) or a
/// bulk camera list (CSV, GeoJSON) into the registry, straight in the store. A running server picks the change up
/// within seconds. Every problem is reported by row (or line) and field, and nothing is written unless all is good.
/// </summary>
internal static class DistrictCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "district.yaml, cameras.csv or cameras.geojson" };
        var data = ServeCommand.DataOption();
        var postgres = ServeCommand.PostgresOption();
        var config = new Option<string?>("--config") { Description = "The district file to check a CSV or GeoJSON against (default: the district in the store)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check every row and say what would change; write nothing" };
        var models = CommonOptions.ModelsDirectory();
        var detector = new Option<string?>("--detector") { Description = "The detector the cameras will run with (as serve --detector): rules are checked against its labels" };
        var import = new Command("import", "Create or update cameras (and, from YAML, areas, departments and sites) in the registry")
        {
            file, data, postgres, config, dryRun, models, detector,
        };
        import.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var path = parse.GetValue(file)!;
            var server = new ServerOptions { DataDirectory = parse.GetValue(data)!, Storage = ServeCommand.Storage(parse.GetValue(postgres)) };
            var storage = server.EffectiveStorage;
            Directory.CreateDirectory(server.DataDirectory);
            await StorageSetup.MigrateAsync(storage, ct);
            using var secrets = SecretBox.LoadOrCreate(server.SecretsKeyPath);
            using var audit = new AuditLog(storage, TimeProvider.System, server.AuditAnchorPath);
            var extension = Path.GetExtension(path).ToLowerInvariant();
            return extension is ".yaml" or ".yml"
                ? await ImportDistrictAsync(path, storage, secrets, audit, parse.GetValue(dryRun), CameraCatalog.LabelsOf(parse.GetValue(detector), parse.GetValue(models)), ct)
                : await ImportCamerasAsync(path, extension, parse.GetValue(config), server, storage, secrets, audit, parse.GetValue(dryRun), ct);
        }));
        return new Command("district", "The district's registry: cameras, areas, departments, sites") { import };
    }

    private static async Task<int> ImportDistrictAsync(string path, StorageOptions storage, SecretBox secrets, AuditLog audit, bool dryRun,
        CivicLens.Domain.Detection.ModelLabels labels, CancellationToken ct)
    {
        var config = ConfigLoader.LoadFile(path);
        CivicLens.Pipeline.AnalysisRunner.CheckRunnable(config.Cameras, config, labels);
        if (dryRun)
        {
            await Console.Out.WriteLineAsync($"{path}: valid; {config.Cameras.Count} cameras, {config.Areas.Count} areas, {config.Departments.Count} departments, {config.Sites.Count} sites (nothing written)");
            return 0;
        }

        await using var db = new CivicLensDb(StorageSetup.Options(storage));
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var changes = await DistrictSync.ImportAsync(db, config, await File.ReadAllTextAsync(path, ct), secrets, CameraImportMode.CreateOrUpdate, ct);
        await tx.CommitAsync(ct);
        await audit.AppendAsync(new AuditEntry("system", "config.import", "ok", Path.GetFileName(path), $"{changes} rows changed (civiclens district import)"), ct);
        await Console.Out.WriteLineAsync($"{path}: {config.Cameras.Count} cameras imported ({changes} rows changed)");
        return 0;
    }

    private static async Task<int> ImportCamerasAsync(string path, string extension, string? districtFile, ServerOptions server, StorageOptions storage, SecretBox secrets,
        AuditLog audit, bool dryRun, CancellationToken ct)
    {
        var format = extension switch
        {
            ".csv" => CameraImporter.Format.Csv,
            ".geojson" or ".json" => CameraImporter.Format.GeoJson,
            _ => throw new ArgumentException($"{path}: import takes .yaml (a district file), .csv or .geojson"),
        };
        var dbs = new PooledDbContextFactory<CivicLensDb>(StorageSetup.Options(storage));
        CivicLensConfig district;
        if (districtFile is not null)
        {
            district = ConfigLoader.LoadFile(districtFile);
        }
        else
        {
            await using var db = await dbs.CreateDbContextAsync(ct);
            district = await DistrictSync.FromStoreAsync(db, ct);
        }

        var catalog = new CameraCatalog(district, dbs, secrets, server);
        using var signal = new RegistrySignal();
        var importer = new CameraImporter(dbs, catalog, secrets, audit, signal, TimeProvider.System);
        await using var stream = File.OpenRead(path);
        var outcome = await importer.ImportAsync(stream, format, dryRun, "system", ct);
        if (outcome.Problems.Count > 0)
        {
            foreach (var p in outcome.Problems) await Console.Error.WriteLineAsync($"{path}: {(p.Row is { } r ? $"row {r}, " : "")}{p.Field}: {p.Message}");
            await Console.Error.WriteLineAsync($"error: {outcome.Problems.Count} problems; nothing was imported");
            return 2;
        }

        await Console.Out.WriteLineAsync($"{path}: {outcome.Created} created, {outcome.Updated} updated, {outcome.Unchanged} unchanged{(dryRun ? " (dry run: nothing written)" : "")}");
        return 0;
    }
}
