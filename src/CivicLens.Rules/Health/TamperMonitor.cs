using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Health;

/// <summary>SKELETON (helper fills in): lens covered, camera moved or defocused, judged against a reference frame.</summary>
public sealed class TamperMonitor
{
    public TamperMonitor(string camera, HealthConfig health)
    {
        Camera = camera;
        Health = health;
    }

    public string Camera { get; }

    public HealthConfig Health { get; }

    public void Process(RuleFrame frame, List<RuleEvent> output) => _ = (Camera, frame, output);

    public void Reset() => _ = Camera;
}
