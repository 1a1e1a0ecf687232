namespace CivicLens.Server.Hosting;

/// <summary>
/// Where this server is reached from outside, for absolute links (signs, status pages, notices, Open311): the
/// configured <see cref="ServerOptions.PublicUrl"/> when there is one (path kept), else the request's own address,
/// which a proxy or a forged Host header can change. Without a trailing slash.
/// </summary>
public static class PublicAddress
{
    public static string Of(Uri configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        return configured.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    public static string Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.HttpContext.RequestServices.GetService<ServerOptions>()?.PublicUrl is { } configured
            ? Of(configured)
            : $"{request.Scheme}://{request.Host}{request.PathBase}";
    }
}
