using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CivicLens.TestSupport;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// Debian's Firefox ESR, headless, driven over WebDriver BiDi (the W3C protocol Firefox speaks natively). Playwright
/// drives only its own patched Firefox, which no registry reachable here carries; BiDi needs nothing but the
/// browser. Enough of the protocol for the console's checks: navigate, evaluate script, collect script errors.
/// </summary>
public sealed class FirefoxBidi : IAsyncDisposable
{
    public const string Executable = "/usr/bin/firefox-esr";

    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private Task _reader = Task.CompletedTask;
    private int _nextId;
    private string _context = "";

    /// <summary>What the page wrote to its console at level error, and uncaught script errors.</summary>
    public List<string> Errors { get; } = [];

    private FirefoxBidi(Process process, TempDirectory profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<FirefoxBidi> StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: run tools/setup.sh --test");
        var profile = new TempDirectory();
        // No update checks, telemetry or remote settings: the tests run without internet, and quietly.
        await File.WriteAllTextAsync(Path.Combine(profile.Path, "user.js"), string.Join('\n',
            "user_pref(\"app.update.disabledForTesting\", true);",
            "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);",
            "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);",
            "user_pref(\"browser.shell.checkDefaultBrowser\", false);",
            "user_pref(\"services.settings.server\", \"http://127.0.0.1:9/\");",
            "user_pref(\"network.captive-portal-service.enabled\", false);",
            "user_pref(\"network.connectivity-service.enabled\", false);",
            "user_pref(\"browser.safebrowsing.update.enabled\", false);"));
        var start = new ProcessStartInfo(Executable)
        {
            ArgumentList = { "--headless", "--no-remote", "--profile", profile.Path, "--remote-debugging-port", "0", "--width", "1366", "--height", "860", "about:blank" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["MOZ_CRASHREPORTER_DISABLE"] = "1";
        var process = Process.Start(start)!;
        var ff = new FirefoxBidi(process, profile);
        try
        {
            // "WebDriver BiDi listening on ws://127.0.0.1:PORT" on stderr says where to connect.
            var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.ErrorDataReceived += (_, e) =>
            {
                const string Marker = "WebDriver BiDi listening on ";
                if (e.Data?.IndexOf(Marker, StringComparison.Ordinal) is >= 0 and var at) found.TrySetResult(e.Data[(at + Marker.Length)..].Trim());
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var address = await found.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await ff._socket.ConnectAsync(new Uri(address + "/session"), CancellationToken.None);
            ff._reader = ff.ReadAsync();
            await ff.CommandAsync("session.new", new JsonObject { ["capabilities"] = new JsonObject() });
            await ff.CommandAsync("session.subscribe", new JsonObject { ["events"] = new JsonArray("log.entryAdded") });
            var tree = await ff.CommandAsync("browsingContext.getTree", new JsonObject());
            ff._context = tree.GetProperty("contexts")[0].GetProperty("context").GetString()!;
            return ff;
        }
        catch
        {
            await ff.DisposeAsync();
            throw;
        }
    }

    public async Task NavigateAsync(string url) =>
        await CommandAsync("browsingContext.navigate", new JsonObject { ["context"] = _context, ["url"] = url, ["wait"] = "complete" });

    /// <summary>Runs <paramref name="expression"/> in the page (promises awaited) and returns its value as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await CommandAsync("script.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["target"] = new JsonObject { ["context"] = _context },
            ["awaitPromise"] = true,
            ["resultOwnership"] = "none",
        });
        if (result.GetProperty("type").GetString() == "exception")
        {
            throw new InvalidOperationException("script failed: " + result.GetProperty("exceptionDetails").GetProperty("text").GetString());
        }

        return result.GetProperty("result");
    }

    /// <summary>Waits until <paramref name="condition"/> (a script expression) is true in the page.</summary>
    public Task WaitForAsync(string condition, TimeSpan timeout, string what) =>
        Eventually.TrueAsync(
            async () => (await EvaluateAsync($"(() => {{ try {{ return !!({condition}); }} catch {{ return false; }} }})()")).GetProperty("value").GetBoolean(),
            timeout, "Firefox: " + what);

    private async Task<JsonElement> CommandAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        var bytes = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString());
        await _send.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _send.Release();
        }

        return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                using var doc = JsonDocument.Parse(message.ToArray());
                message.SetLength(0);
                var root = doc.RootElement;
                var type = root.GetProperty("type").GetString();
                if (type == "event")
                {
                    var p = root.GetProperty("params");
                    if (p.TryGetProperty("level", out var level) && level.GetString() == "error") lock (Errors) Errors.Add(p.GetProperty("text").GetString() ?? "(no text)");
                }
                else if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.Number && _pending.TryRemove(idElement.GetInt32(), out var waiter))
                {
                    if (type == "success") waiter.TrySetResult(root.GetProperty("result").Clone());
                    else waiter.TrySetException(new InvalidOperationException($"BiDi {root.GetProperty("error").GetString()}: {root.GetProperty("message").GetString()}"));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
            // The browser went away: pending commands fail below.
        }

        foreach (var waiter in _pending.Values) waiter.TrySetException(new InvalidOperationException("Firefox closed the connection"));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open) await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }

        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
        }

        await _reader.ConfigureAwait(false);
        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        _send.Dispose();
        _profile.Dispose();
    }
}
