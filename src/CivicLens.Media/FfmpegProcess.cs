using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CivicLens.Media;

/// <summary>
/// One ffmpeg child: started from an argument list (never one string), its stderr always drained into the log
/// (an undrained pipe blocks ffmpeg), the last error lines kept to explain a failure, terminated then killed on stop.
/// Optionally fed on stdin by a second ffmpeg (a stream copy from a position in a file), supervised with it.
/// </summary>
internal sealed partial class FfmpegProcess : IDisposable
{
    private readonly Process _process;
    private readonly Process? _feeder;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Action<FfmpegProcess, FrameSizeChange>? _onSizeChange;
    private readonly Queue<string> _tail = new();
    private readonly Task _stderr;
    private readonly Task _feederStderr = Task.CompletedTask;
    private readonly Task _pump = Task.CompletedTask;

    /// <param name="onSizeChange">Called on the stderr reader's thread when ffmpeg reports a frame of another size.</param>
    /// <param name="feederArguments">A second ffmpeg whose stdout becomes this one's stdin (which must read pipe:0).</param>
    public FfmpegProcess(IReadOnlyList<string> arguments, string name, ILogger logger,
        Action<FfmpegProcess, FrameSizeChange>? onSizeChange = null, IReadOnlyList<string>? feederArguments = null)
    {
        _name = name;
        _logger = logger;
        _onSizeChange = onSizeChange;
        if (feederArguments is not null)
        {
            _feeder = Start(feederArguments, redirectInput: false);
            _feederStderr = Task.Run(() => DrainAsync(_feeder, isMain: false));
        }

        try
        {
            _process = Start(arguments, redirectInput: _feeder is not null);
        }
        catch
        {
            if (_feeder is not null) Kill(_feeder);
            throw;
        }

        Output = _process.StandardOutput.BaseStream;
        _stderr = Task.Run(() => DrainAsync(_process, isMain: true));
        if (_feeder is not null) _pump = Task.Run(PumpAsync);
    }

    public Stream Output { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    private static Process Start(IReadOnlyList<string> arguments, bool redirectInput)
    {
        var psi = new ProcessStartInfo(FfmpegLocator.Ffmpeg)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new Domain.Frames.FrameSourceException("ffmpeg could not be started.");
    }

    /// <summary>Exit code once ffmpeg (and its feeder) ended and stderr was read to the end; the first failure wins.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _stderr.WaitAsync(cts.Token);
            if (_feeder is not null)
            {
                await _feeder.WaitForExitAsync(cts.Token);
                await Task.WhenAll(_feederStderr, _pump).WaitAsync(cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Stop();
            await _process.WaitForExitAsync();
            if (_feeder is not null) await _feeder.WaitForExitAsync();
        }

        return _process.ExitCode != 0 ? _process.ExitCode : _feeder?.ExitCode ?? 0;
    }

    /// <summary>The last error lines ffmpeg wrote to stderr (credentials removed), for error messages.</summary>
    public string Tail
    {
        get
        {
            lock (_tail) return string.Join(" | ", _tail);
        }
    }

    private async Task DrainAsync(Process process, bool isMain)
    {
        try
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                var level = FfmpegLog.Parse(line, out var text);
                var safe = SourceUri.Redact(text);
                if (isMain && level != FfmpegLogLevel.Error && _onSizeChange is not null && FfmpegLog.TryParseSizeChange(text, out var change))
                {
                    LogFfmpegDetail(_logger, _name, safe);
                    _onSizeChange(this, change);
                    continue;
                }

                if (level != FfmpegLogLevel.Error)
                {
                    // Warnings (a corrupt packet, a timestamp jump) and chatter: for debugging, never a failure's explanation.
                    LogFfmpegDetail(_logger, _name, safe);
                    continue;
                }

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

    /// <summary>Copies the feeder's stdout into ffmpeg's stdin, then closes it so ffmpeg sees the end.</summary>
    private async Task PumpAsync()
    {
        try
        {
            await _feeder!.StandardOutput.BaseStream.CopyToAsync(_process.StandardInput.BaseStream, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // One side was stopped.
        }
        finally
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Stops the feeder first (so it does not complain of a broken pipe), then ffmpeg.</summary>
    public void Stop()
    {
        if (_feeder is not null) Kill(_feeder);
        Kill(_process);
    }

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
        Stop();
        Process[] processes = _feeder is null ? [_process] : [_feeder, _process];
        foreach (var p in processes)
        {
            try
            {
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ffmpeg [{Source}]: {Line}")]
    private static partial void LogFfmpeg(ILogger logger, string source, string line);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ffmpeg [{Source}]: {Line}")]
    private static partial void LogFfmpegDetail(ILogger logger, string source, string line);
}
