using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CivicLens.TestSupport;

/// <summary>The sink's certificate and key (PEM files) and whether TLS starts with the first byte (else STARTTLS, required).</summary>
public sealed record SinkTls(string CertificatePem, string KeyPem, bool Implicit);

/// <summary>One message the sink accepted: its envelope and its raw bytes as they crossed the wire.</summary>
public sealed record SinkMessage(string MailFrom, IReadOnlyList<string> Recipients, bool Authenticated, byte[] Data)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>
/// A real SMTP server on 127.0.0.1 (tests/CivicLens.TestSupport/smtp-sink.py on Debian's python3-aiosmtpd) that
/// keeps every accepted message as a file. It refuses recipients named <c>reject…@</c> with 550 and
/// <c>tempfail…@</c> with 451. Tests stop it and start it again on the same port to play a mail server that was away.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string SetupHint = "Run ./tools/setup.sh --test once to install the SMTP sink's dependency (python3-aiosmtpd).";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _dir = new();
    private readonly string? _user;
    private readonly string? _password;
    private readonly SinkTls? _tls;
    private Process? _process;
    private readonly StringBuilder _stderr = new();

    private SmtpSink(int port, string? user, string? password, SinkTls? tls)
    {
        Port = port;
        _user = user;
        _password = password;
        _tls = tls;
    }

    public int Port { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>Starts a sink on a free loopback port (or <paramref name="port"/>); with a user it requires AUTH, with <paramref name="tls"/> TLS.</summary>
    public static async Task<SmtpSink> StartAsync(int? port = null, string? user = null, string? password = null, SinkTls? tls = null)
    {
        var sink = new SmtpSink(port ?? RtspCamera.FreeTcpPort(), user, password, tls);
        try
        {
            await sink.LaunchAsync();
        }
        catch
        {
            await sink.DisposeAsync();
            throw;
        }

        return sink;
    }

    /// <summary>The messages accepted so far, in order (complete ones only).</summary>
    public IReadOnlyList<SinkMessage> Messages()
    {
        var list = new List<SinkMessage>();
        foreach (var meta in Directory.GetFiles(_dir.Path, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(meta));
            var root = doc.RootElement;
            var data = File.ReadAllBytes(Path.ChangeExtension(meta, ".eml"));
            list.Add(new SinkMessage(root.GetProperty("mailFrom").GetString() ?? "", [.. root.GetProperty("rcptTos").EnumerateArray().Select(r => r.GetString() ?? "")],
                root.GetProperty("authenticated").GetBoolean(), data));
        }

        return list;
    }

    /// <summary>Stops the server (SIGKILL); the messages it kept stay readable.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } p) return;
        if (!p.HasExited) p.Kill();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        p.Dispose();
        _process = null;
    }

    /// <summary>Starts it again on the same port, keeping what it received before.</summary>
    public Task RestartAsync() => Running ? throw new InvalidOperationException("The sink is running.") : LaunchAsync();

    public string StandardError
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    private async Task LaunchAsync()
    {
        if (!File.Exists(Python)) throw new InvalidOperationException($"{Python} is missing. {SetupHint}");
        var script = Path.Combine(TestAssets.RepoRoot, "tests", "CivicLens.TestSupport", "smtp-sink.py");
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--port");
        psi.ArgumentList.Add(Port.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add("--dir");
        psi.ArgumentList.Add(_dir.Path);
        if (_user is not null)
        {
            psi.ArgumentList.Add("--user");
            psi.ArgumentList.Add(_user);
            psi.ArgumentList.Add("--password");
            psi.ArgumentList.Add(_password ?? "");
        }

        if (_tls is not null)
        {
            psi.ArgumentList.Add("--tls-cert");
            psi.ArgumentList.Add(_tls.CertificatePem);
            psi.ArgumentList.Add("--tls-key");
            psi.ArgumentList.Add(_tls.KeyPem);
            psi.ArgumentList.Add("--tls");
            psi.ArgumentList.Add(_tls.Implicit ? "implicit" : "starttls");
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("READY ", StringComparison.Ordinal) == true) ready.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.AppendLine(e.Data);
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("exited"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        try
        {
            await ready.Task.WaitAsync(ReadyTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            if (!process.HasExited) process.Kill();
            await process.WaitForExitAsync();
            var hint = process.ExitCode == 3 ? " " + SetupHint : "";
            throw new InvalidOperationException($"The SMTP sink (port {Port}) did not start.{hint} Its stderr:\n{StandardError.Trim()}", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Already gone, or stuck: the test run's process group takes it down.
        }

        _dir.Dispose();
    }
}
