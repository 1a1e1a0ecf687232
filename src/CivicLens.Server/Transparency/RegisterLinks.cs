using System.Globalization;

namespace CivicLens.Server.Transparency;

/// <summary>The register's addresses, relative to the server's path base (and absolute for printed signs).</summary>
/// <param name="publicBase">Where <paramref name="pathBase"/> is reached from outside, without a trailing slash.</param>
public sealed class RegisterLinks(string publicBase, string pathBase)
{
    private readonly string root = pathBase + "/transparency";

    /// <summary>The configured public address when there is one (<see cref="Hosting.ServerOptions.PublicUrl"/>), else the request's own.</summary>
    public static RegisterLinks For(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RegisterLinks(Hosting.PublicAddress.Of(request), request.PathBase);
    }

    public string Index => root;

    public string Style => root + "/style.css";

    public string Privacy => root + "/privacy";

    public string CamerasJson => root + "/cameras.json";

    public string CamerasCsv => root + "/cameras.csv";

    public string StatisticsJson => root + "/statistics.json";

    public string Camera(string id) => root + "/cameras/" + Uri.EscapeDataString(id);

    public string Sign(string id) => Camera(id) + "/sign";

    public string Report(int year) => root + "/report/" + year.ToString(CultureInfo.InvariantCulture);

    public string ReportJson(int year) => Report(year) + ".json";

    public string NextPage(string after) => root + "?after=" + Uri.EscapeDataString(after);

    /// <summary>The full address, for a sign printed and put up in the street.</summary>
    public string Absolute(string path) => publicBase + (path.StartsWith(pathBase, StringComparison.Ordinal) ? path[pathBase.Length..] : path);
}
