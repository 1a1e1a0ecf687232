using CivicLens.Server.Accounts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace CivicLens.Cluster.Hub;

/// <summary><c>GET /api/cluster/nodes</c>: every hub and node of the cluster, its state, capacity and the cameras it runs.</summary>
public static class ClusterEndpoints
{
    public static void MapCluster(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/api/cluster/nodes", async (IGrainFactory grains) =>
        {
            try
            {
                return Results.Ok(await grains.GetGrain<IDistrictGrain>(ClusterRoles.DistrictKey).NodesAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            }
            catch (Exception ex) when (ex is TimeoutException or Orleans.Runtime.OrleansException)
            {
                return Results.Problem("The district's leader did not answer; try again in a few seconds.", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        }).WithTags("cluster").RequireAuthorization(Policies.ReadRegistry);
    }
}
