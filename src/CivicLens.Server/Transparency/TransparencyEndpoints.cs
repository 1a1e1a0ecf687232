namespace CivicLens.Server.Transparency;

public static class TransparencyEndpoints
{
    /// <summary>The public transparency register: the only unauthenticated part of the server.</summary>
    public static void MapTransparency(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
    }
}
