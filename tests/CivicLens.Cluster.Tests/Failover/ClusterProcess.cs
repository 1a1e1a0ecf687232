using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CivicLens.TestSupport;

namespace CivicLens.Cluster.Tests.Failover;

/// <summary>A real <c>civiclens</c> process (hub or node) of a test cluster, its output kept for the failure message.</summary>
internal sealed class ClusterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ClusterProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static ClusterProcess Start(string name, IReadOnlyDictionary<string, string> environment, params string[] args) => StartUnder([], name, environment, args);

    /// <summary>
    /// The same under a wrapper (<c>faketime -f +180s</c>: a machine whose wall clock is three minutes ahead; the
    /// monotonic clocks stay true, as on a real machine with a wrong time).
    /// </summary>
    public static ClusterProcess StartUnder(string[] wrapper, string name, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var w in wrapper.Skip(1)) psi.ArgumentList.Add(w);
        if (wrapper.Length > 0) psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "civiclens.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CIVICLENS_HOME"] = TestAssets.Home;
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        if (wrapper.Length > 0) psi.Environment["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
        var process = Process.Start(psi)!;
        process.StandardInput.Close();
        return new ClusterProcess(name, process);
    }

    /// <summary>SIGKILL: the process dies at once, nothing of it runs any more.</summary>
    public void Kill() => Signal("KILL");

    /// <summary>SIGSTOP: the process hangs (its sockets stay open) until <see cref="Resume"/>.</summary>
    public void Hang() => Signal("STOP");

    public void Resume() => Signal("CONT");

    /// <summary>SIGTERM: a graceful stop (the node drains its cameras first).</summary>
    public void Terminate() => Signal("TERM");

    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                Signal("CONT");
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
