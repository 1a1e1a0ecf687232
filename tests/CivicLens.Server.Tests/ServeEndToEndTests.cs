using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using CivicLens.Server.Accounts;
using CivicLens.TestSupport;

namespace CivicLens.Server.Tests;

/// <summary>
/// What the README's run command does, as a newcomer would: <c>civiclens serve</c> on the sample district, then
/// log in (password and authenticator code) and see the sample camera's events arrive in the API, with their
/// redacted evidence. Runs the real CLI, the real detector and the real footage.
/// </summary>
public sealed class ServeEndToEndTests
{
    [Fact]
    public async Task Serve_SampleDistrict_ProducesEventsInTheApi_AndTheAuditLogVerifies()
    {
        using var data = new TempDirectory();
        var port = FreePort();
        var cli = Path.Combine(AppContext.BaseDirectory, "civiclens.dll");
        using var server = Start(cli, data.Path, port);
        var stderr = new System.Text.StringBuilder();
        server.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        server.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            // The first line on stdout says where it serves.
            var banner = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            if (banner is null)
            {
                await server.WaitForExitAsync();
                Assert.Fail($"the server exited with {server.ExitCode}: {stderr}");
            }

            Assert.Contains($"serving on http://127.0.0.1:{port}", banner, StringComparison.Ordinal);

            // First login: the admin must enrol an authenticator.
            var enrol = await http.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = Password });
            var secret = (await enrol.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
            var code = Totp.Code(Base32.Decode(secret), Totp.StepAt(DateTimeOffset.UtcNow));
            (await http.PostAsJsonAsync("/api/auth/login", new { userName = "admin", password = Password, code })).EnsureSuccessStatusCode();
            // Admins see no footage: a viewer account watches the events.
            (await http.PostAsJsonAsync("/api/users", new { userName = "watch", password = Password, role = "viewer" })).EnsureSuccessStatusCode();
            using var viewer = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = http.BaseAddress };
            (await viewer.PostAsJsonAsync("/api/auth/login", new { userName = "watch", password = Password })).EnsureSuccessStatusCode();

            JsonElement page = default;
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromMinutes(4))
            {
                page = await viewer.GetFromJsonAsync<JsonElement>("/api/events?limit=200");
                if (page.GetProperty("items").EnumerateArray().Any(e => e.GetProperty("hasSnapshot").GetBoolean())) break;
                Assert.False(server.HasExited, $"the server stopped: {stderr}");
                await Task.Delay(1000);
            }

            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count > 0, $"no events from the sample camera within 4 minutes: {stderr}");
            Assert.All(items, e => Assert.Equal("vtest", e.GetProperty("camera").GetString()));
            var withEvidence = items.First(e => e.GetProperty("hasSnapshot").GetBoolean());
            var snapshot = await viewer.GetAsync($"/api/events/{withEvidence.GetProperty("id").GetGuid()}/snapshot");
            Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
            Assert.Equal("image/jpeg", snapshot.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        // After a hard stop the audit log still verifies, through the CLI an auditor would use.
        var verify = Process.Start(new ProcessStartInfo("dotnet") { ArgumentList = { cli, "audit", "verify", "--data", data.Path }, RedirectStandardOutput = true })!;
        var output = await verify.StandardOutput.ReadToEndAsync();
        await verify.WaitForExitAsync();
        Assert.True(verify.ExitCode == 0, output);
        Assert.Contains("audit log intact", output, StringComparison.Ordinal);
    }

    private const string Password = "sample district keeper 2026";

    private static Process Start(string cli, string data, int port)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { cli, "serve", "--config", Path.Combine(TestAssets.RepoRoot, "samples", "vtest.yaml"), "--data", data, "--urls", $"http://127.0.0.1:{port}", "--fps", "5" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        psi.Environment["CIVICLENS_ADMIN_PASSWORD"] = Password;
        psi.Environment["CIVICLENS_HOME"] = TestAssets.Home;
        return Process.Start(psi)!;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
