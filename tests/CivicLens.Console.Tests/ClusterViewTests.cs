using System.Net;
using Microsoft.Playwright;

namespace CivicLens.ConsoleWeb.Tests;

/// <summary>
/// The cluster's parts of the console (the Node column of the camera list, the Nodes page) on a single-process
/// server, which has no nodes: <c>GET /api/cluster/nodes</c> answers 404, so neither shows, and nothing breaks.
/// Their rendering against a real hub and node is tested in CivicLens.Cluster.Tests (ClusterConsoleTests).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ClusterViewTests(ConsoleFixture server)
{
    [Fact]
    public async Task SingleProcess_NoNodesLinkNoNodeColumn_NodesPageSaysThereAreNone()
    {
        var viewer = await server.ViewerApiAsync("viewer-nodes");
        using (var nodes = await viewer.GetAsync(new Uri("/api/cluster/nodes", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.NotFound, nodes.StatusCode);
        }

        var (context, page, errors) = await server.NewPageAsync();
        await using var _ = context;
        var probed = page.WaitForResponseAsync(r => r.Url.EndsWith("/api/cluster/nodes", StringComparison.Ordinal));
        await server.LoginAsync(page, "viewer-nodes");
        // The console asked whether this is a cluster and was told no: the link stays hidden.
        Assert.Equal(404, (await probed).Status);
        var link = page.Locator("#nav a[data-page='nodes']");
        await Assertions.Expect(link).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#nav a[data-page='cameras']")).ToBeVisibleAsync();

        await page.GotoAsync("/console/#/cameras");
        await page.Locator("body[data-ready='cameras']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#cameras tbody tr[data-id='vtest']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#cameras thead button[data-sort='node']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#camera-node-choice")).ToBeHiddenAsync();
        // Sorting still works with the column set of one machine.
        await page.ClickAsync("#cameras thead button[data-sort='health']");
        await Assertions.Expect(page.Locator("#cameras th[aria-sort='ascending'] button[data-sort='health']")).ToBeVisibleAsync();

        // Typed in by hand: a plain page saying there are no nodes, not an error.
        await page.GotoAsync("/console/#/nodes");
        await page.Locator("body[data-ready='nodes']").WaitForAsync(new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("#nodes-single")).ToContainTextAsync("one machine");
        await Assertions.Expect(page.Locator("#nodes")).ToHaveCountAsync(0);
        await Assertions.Expect(link).ToBeHiddenAsync();
        Assert.Empty(errors);
    }
}
