using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using CivicLens.TestSupport;
using Npgsql;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>
/// A PostgreSQL server of the test's own, in a temp folder on a free loopback port, made from Debian's binaries the way
/// tools/test-services.sh makes the shared one: a test may stop and start it (an outage) without touching the shared
/// server other tests use. As root the server runs as the package's postgres user (PostgreSQL refuses root).
/// </summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly TempDirectory _dir;
    private readonly string _data;
    private readonly string _log;

    private PrivatePostgres(string bin, TempDirectory dir, int port, string password)
    {
        _bin = bin;
        _dir = dir;
        _data = Path.Combine(dir.Path, "pg", "data");
        _log = Path.Combine(dir.Path, "pg", "postgres.log");
        Port = port;
        AdminConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "civiclens",
            Password = password,
            Database = "postgres",
        }.ConnectionString;
    }

    public int Port { get; }

    /// <summary>The superuser on the maintenance database.</summary>
    public string AdminConnectionString { get; }

    /// <summary>The newest Debian PostgreSQL's binaries (<c>/usr/lib/postgresql/N/bin</c>), or null where none is installed.</summary>
    public static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Dir, "bin", "pg_ctl")) && File.Exists(Path.Combine(d.Dir, "bin", "initdb")))
            .OrderByDescending(d => d.Version)
            .Select(d => Path.Combine(d.Dir, "bin"))
            .FirstOrDefault();
    }

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException("No PostgreSQL binaries under /usr/lib/postgresql/*/bin (./test.sh installs Debian's postgresql).");
        var dir = TestAssets.CreateTempDirectory();
        try
        {
            var pg = Path.Combine(dir.Path, "pg");
            Directory.CreateDirectory(pg);
            var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(18));
            var passwordFile = Path.Combine(pg, "password");
            await File.WriteAllTextAsync(passwordFile, password);
            if (IsRoot && !OperatingSystem.IsWindows())
            {
                // The server runs as postgres: it must reach its folder, and own it.
                File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
                await RunAsync("chown", ["-R", "postgres:postgres", pg], asPostgres: false);
            }

            var server = new PrivatePostgres(bin, dir, ClusterProcess.FreePort(), password);
            await RunAsync(Path.Combine(bin, "initdb"), ["-D", server._data, "-U", "civiclens", "--pwfile=" + passwordFile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], IsRoot);
            // Small, loopback only, no Unix socket; fsync and synchronous_commit stay on (an immediate stop is a crash).
            var conf = $"""

                listen_addresses = '127.0.0.1'
                port = {server.Port}
                unix_socket_directories = ''
                shared_buffers = 32MB
                max_connections = 200

                """;
            await File.AppendAllTextAsync(Path.Combine(server._data, "postgresql.conf"), conf);
            await server.StartServerAsync();
            return server;
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Makes an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var conn = new NpgsqlConnection(AdminConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>The database is gone: <c>pg_ctl stop -m immediate</c> ends every backend at once, as a crash would.</summary>
    public Task StopAsync() => RunAsync(Path.Combine(_bin, "pg_ctl"), ["stop", "-D", _data, "-m", "immediate", "-w", "-t", "60"], IsRoot);

    /// <summary>Starts it again (crash recovery first, after an immediate stop); returns once it takes connections.</summary>
    public Task StartServerAsync() => RunAsync(Path.Combine(_bin, "pg_ctl"), ["start", "-D", _data, "-l", _log, "-w", "-t", "60"], IsRoot);

    public string Log => File.Exists(_log) ? File.ReadAllText(_log) : "";

    private static bool IsRoot => Environment.UserName == "root";

    private static async Task RunAsync(string file, IReadOnlyList<string> args, bool asPostgres)
    {
        var psi = new ProcessStartInfo(asPostgres ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        if (asPostgres)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file }) psi.ArgumentList.Add(a);
        }

        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        // pg_ctl start sends the server's output to its log (-l), so these pipes end when pg_ctl does.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            NpgsqlConnection.ClearAllPools();
            if (File.Exists(Path.Combine(_data, "postmaster.pid"))) await StopAsync();
        }
        finally
        {
            _dir.Dispose();
        }
    }
}

/// <summary>A fact that is skipped, saying why, where Debian's PostgreSQL binaries are not installed.</summary>
internal sealed class PostgresBinariesFactAttribute : FactAttribute
{
    public PostgresBinariesFactAttribute()
    {
        if (PrivatePostgres.FindBinaries() is null)
        {
            Skip = "needs Debian's PostgreSQL binaries (/usr/lib/postgresql/*/bin/pg_ctl) to run a private server: ./test.sh installs them (apt-get install postgresql)";
        }
    }
}
