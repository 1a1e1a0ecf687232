using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CivicLens.TestSupport;

/// <summary>
/// A real RTSP camera (tools/rtsp-camera.py, gst-rtsp-server) serving a file in a loop on 127.0.0.1. Tests kill it
/// mid-stream (SIGKILL), freeze it (SIGSTOP) and restart it on the same port to exercise reconnects and the stall
/// watchdog. Missing Python GStreamer bindings fail the test with the command that installs them.
/// </summary>
public sealed class RtspCamera : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string SetupHint = "Run ./tools/setup.sh --test once to install the RTSP test camera's dependencies "
        + "(python3, python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-*).";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly string _file;
    private readonly int _width;
    private readonly int _height;
    private readonly int _fps;
    private Process? _process;
    private StringBuilder _stderr = new();
    private bool _paused;

    private RtspCamera(string file, int port, string path, int width, int height, int fps)
    {
        _file = file;
        Port = port;
        MountPath = path;
        _width = width;
        _height = height;
        _fps = fps;
    }

    public int Port { get; }

    public string MountPath { get; }

    /// <summary>The camera's URL; with credentials the server (which asks for none) ignores them.</summary>
    public string Url(string? userInfo = null) =>
        userInfo is null ? $"rtsp://127.0.0.1:{Port}/{MountPath}" : $"rtsp://{userInfo}@127.0.0.1:{Port}/{MountPath}";

    /// <remarks>
    /// 25 frames/s by default although the footage has 10: ffprobe and ffmpeg each read about 20 frames to learn a live
    /// stream's rate, so every (re)connect to a 10 frames/s camera costs 2 s more.
    /// </remarks>
    public static async Task<RtspCamera> StartAsync(string file, string path = "cam", int width = 320, int height = 240, int fps = 25)
    {
        var camera = new RtspCamera(file, FreeTcpPort(), path, width, height, fps);
        try
        {
            await camera.LaunchAsync();
        }
        catch
        {
            await camera.DisposeAsync();
            throw;
        }

        return camera;
    }

    /// <summary>SIGKILL: the server dies mid-stream without closing anything gracefully.</summary>
    public async Task KillAsync()
    {
        var p = _process ?? throw new InvalidOperationException("The camera is not running.");
        p.Kill(); // SIGKILL on Unix
        await WaitForExitAsync(p, TimeSpan.FromSeconds(10), "the killed RTSP camera to exit");
        _paused = false;
    }

    /// <summary>Starts the server again on the same port and mount path.</summary>
    public async Task RestartAsync()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("Kill or stop the camera before restarting it.");
        _process?.Dispose();
        _process = null;
        await LaunchAsync();
    }

    /// <summary>SIGSTOP: the server keeps its sockets open but sends nothing (a hung camera).</summary>
    public async Task PauseAsync()
    {
        await SignalAsync("STOP");
        _paused = true;
    }

    /// <summary>SIGCONT after <see cref="PauseAsync"/>.</summary>
    public async Task ResumeAsync()
    {
        await SignalAsync("CONT");
        _paused = false;
    }

    /// <summary>SIGUSR1: something covers the lens (the picture goes black) while the stream goes on.</summary>
    public Task CoverLensAsync() => SignalAsync("USR1");

    /// <summary>SIGUSR2: the cover is taken off again.</summary>
    public Task UncoverLensAsync() => SignalAsync("USR2");

    /// <summary>SIGTERM, then waits for the server to exit on its own; returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        var p = _process ?? throw new InvalidOperationException("The camera is not running.");
        if (_paused) await ResumeAsync();
        await SignalAsync("TERM");
        await WaitForExitAsync(p, timeout, "the RTSP camera to exit after SIGTERM");
        return p.ExitCode;
    }

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
        var script = Path.Combine(TestAssets.RepoRoot, "tools", "rtsp-camera.py");
        if (!File.Exists(script)) throw new InvalidOperationException($"The RTSP test camera script {script} is missing.");

        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     script, "--file", _file, "--port", Port.ToString(CultureInfo.InvariantCulture), "--path", MountPath,
                     "--width", _width.ToString(CultureInfo.InvariantCulture), "--height", _height.ToString(CultureInfo.InvariantCulture),
                     "--fps", _fps.ToString(CultureInfo.InvariantCulture),
                 })
        {
            psi.ArgumentList.Add(a);
        }

        var stderr = new StringBuilder();
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("READY ", StringComparison.Ordinal) == true) ready.TrySetResult(e.Data[6..]);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("exited"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        _stderr = stderr;

        string url;
        try
        {
            url = await ready.Task.WaitAsync(ReadyTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            if (!process.HasExited) process.Kill();
            await process.WaitForExitAsync();
            var err = StandardError.Trim();
            var hint = process.ExitCode == 3 || err.Contains("MISSING-DEPENDENCY", StringComparison.Ordinal) ? " " + SetupHint : "";
            var what = ex is TimeoutException
                ? $"did not print READY within {ReadyTimeout.TotalSeconds:0} s"
                : $"exited with code {process.ExitCode} before it was ready";
            throw new InvalidOperationException(
                $"The RTSP test camera (tools/rtsp-camera.py on port {Port}) {what}.{hint} Its stderr:\n{err}", ex);
        }

        if (url != Url()) throw new InvalidOperationException($"The RTSP test camera announced {url}, expected {Url()}.");
    }

    private async Task SignalAsync(string signal)
    {
        var p = _process ?? throw new InvalidOperationException("The camera is not running.");
        var psi = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add("-" + signal);
        psi.ArgumentList.Add(p.Id.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(psi) ?? throw new InvalidOperationException("kill could not be started.");
        var err = await kill.StandardError.ReadToEndAsync();
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{signal} {p.Id} failed: {err}");
    }

    private static async Task WaitForExitAsync(Process p, TimeSpan timeout, string awaited)
    {
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {awaited}", ex);
        }
    }

    /// <summary>A loopback port nobody listens on (the OS picks it; a tiny race with other processes remains).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not { } p) return;
        try
        {
            if (!p.HasExited)
            {
                if (_paused) await SignalAsync("CONT");
                p.Kill();
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            // Already gone, or stuck: the test run's process group takes it down.
        }
        finally
        {
            p.Dispose();
            _process = null;
        }
    }
}
