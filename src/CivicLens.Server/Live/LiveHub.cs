using CivicLens.Server.Accounts;
using CivicLens.Server.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace CivicLens.Server.Live;

/// <summary>
/// Live updates over SignalR (<c>/hubs/live</c>): <c>event</c>, <c>camera</c> (health) and <c>case</c> messages.
/// A connection joins the groups its role and area scope allow, so nobody is sent what the API would refuse them.
/// </summary>
[Authorize(Policy = Policies.ReadRegistry)]
public sealed class LiveHub : Hub
{
    public override async Task OnConnectedAsync()
    {
        var user = CurrentUser.From(Context.User!)!;
        var areas = user.Areas ?? [LiveNotifier.AllAreas];
        foreach (var area in areas)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, LiveNotifier.Group("registry", area));
            if (Policies.Matrix[Policies.ReadEvents].Contains(user.Role)) await Groups.AddToGroupAsync(Context.ConnectionId, LiveNotifier.Group("events", area));
            if (Policies.Matrix[Policies.ReadCases].Contains(user.Role)) await Groups.AddToGroupAsync(Context.ConnectionId, LiveNotifier.Group("cases", area));
        }

        await base.OnConnectedAsync();
    }
}
