using CivicLens.Server.Hosting;
using CivicLens.TestSupport;

namespace CivicLens.Cli.Tests;

public class ServeSmtpOptionsTests
{
    [Fact]
    public void Smtp_NoOptions_IsOff()
    {
        Assert.Null(ServeCommand.Smtp(null, null, null, null, "a password in the environment"));
    }

    [Fact]
    public void Smtp_AllOptions_MapToTarget_PasswordKeptOutOfText()
    {
        var t = ServeCommand.Smtp("[::1]:465", " CivicLens <civiclens@city.example> ", "TLS", "civiclens", "s3cret pass")!;

        Assert.Equal(("::1", 465, "CivicLens <civiclens@city.example>", SmtpSecurity.Tls), (t.Host, t.Port, t.From, t.Security));
        Assert.Equal(("civiclens", "s3cret pass"), (t.UserName, t.Password));
        Assert.DoesNotContain("s3cret", t.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Smtp_SecurityNotGiven_IsStartTls()
    {
        Assert.Equal(SmtpSecurity.StartTls, ServeCommand.Smtp("smtp.city.example:587", "civiclens@city.example", null, null, null)!.Security);
    }

    [Theory]
    [InlineData(null, "civiclens@city.example", null, null, null, "need --smtp HOST:PORT")]
    [InlineData("smtp.city.example", "civiclens@city.example", null, null, null, "wants HOST:PORT")]
    [InlineData("smtp.city.example:70000", "civiclens@city.example", null, null, null, "wants HOST:PORT")]
    [InlineData("smtp.city.example:587", null, null, null, null, "needs --smtp-from")]
    [InlineData("smtp.city.example:587", "civiclens@city.example", "ssl", null, null, "wants starttls, tls or none")]
    [InlineData("smtp.city.example:587", "civiclens@city.example", null, "civiclens", null, "needs the password in CIVICLENS_SMTP_PASSWORD")]
    [InlineData("smtp.city.example:587", "civiclens@city.example", null, null, "pw", "--smtp-user is not")]
    public void Smtp_BadOptions_Refused(string? hostPort, string? from, string? security, string? user, string? password, string expected)
    {
        var ex = Assert.Throws<StartupException>(() => ServeCommand.Smtp(hostPort, from, security, user, password));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SmtpCa_MustBeAReadablePemCertificate_OverTls()
    {
        using var dir = new TempDirectory();
        var missing = Path.Combine(dir.Path, "missing.pem");
        var empty = Path.Combine(dir.Path, "empty.pem");
        File.WriteAllText(empty, "not a certificate");
        var ca = Path.Combine(dir.Path, "city-ca.pem");
        using (var key = System.Security.Cryptography.ECDsa.Create())
        {
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=City CA", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(ca, certificate.ExportCertificatePem());
        }

        Assert.Contains("cannot be read", Assert.Throws<StartupException>(() => ServeCommand.Smtp("smtp.city.example:587", "civiclens@city.example", null, null, null, missing)).Message,
            StringComparison.Ordinal);
        Assert.Contains("holds no PEM certificate", Assert.Throws<StartupException>(() => ServeCommand.Smtp("smtp.city.example:587", "civiclens@city.example", null, null, null, empty)).Message,
            StringComparison.Ordinal);
        Assert.Contains("--smtp-ca needs TLS", Assert.Throws<StartupException>(() => ServeCommand.Smtp("127.0.0.1:25", "civiclens@city.example", "none", null, null, ca)).Message,
            StringComparison.Ordinal);
        Assert.Contains("need --smtp HOST:PORT", Assert.Throws<StartupException>(() => ServeCommand.Smtp(null, null, null, null, null, ca)).Message, StringComparison.Ordinal);
        Assert.Equal(ca, ServeCommand.Smtp("smtp.city.example:587", "civiclens@city.example", null, null, null, ca)!.TrustedCaFile);
    }
}
