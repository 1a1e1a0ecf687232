using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CivicLens.Media;

/// <summary>
/// One ffmpeg child: started from an argument list (never one string), its stderr always drained into the log
/// (an undrained pipe blocks ffmpeg), the last lines kept to explain a failure, terminated then killed on stop.
/// </summary>
internal sealed partial class FfmpegProcess : IDisposable
{
    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Queue<string> _tail = new();
    private readonly Task _stderr;

    public FfmpegProcess(IReadOnlyList<string> arguments, string name, ILogger logger)
    {
        _name = name;
        _logger = logger;
        var psi = new ProcessStartInfo(FfmpegLocator.Ffmpeg)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new Domain.Frames.FrameSourceException("ffmpeg could not be started.");
        Output = _process.StandardOutput.BaseStream;
        _stderr = Task.Run(DrainAsync);
    }

    public Stream Output { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Exit code once ffmpeg ended and its stderr was read to the end.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _stderr.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(_process);
            await _process.WaitForExitAsync();
        }

        return _process.ExitCode;
    }

    /// <summary>The last lines ffmpeg wrote to stderr (credentials removed), for error messages.</summary>
    public string Tail
    {
        get
        {
            lock (_tail) return string.Join(" | ", _tail);
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                var safe = SourceUri.Redact(line);
                lock (_tail)
                {
                    _tail.Enqueue(safe);
                    while (_tail.Count > 4) _tail.Dequeue();
                }

                LogFfmpeg(_logger, _name, safe);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process went away; nothing more to drain.
        }
    }

    public void Stop() => Kill(_process);

    /// <summary>Stops the process tree; ffmpeg holds no state worth a graceful quit when we stop reading.</summary>
    internal static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone or not ours any more.
        }
    }

    public void Dispose()
    {
        Kill(_process);
        try
        {
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ffmpeg [{Source}]: {Line}")]
    private static partial void LogFfmpeg(ILogger logger, string source, string line);
}
