using CivicLens.Rules.Configuration;
using CivicLens.Rules.Engine;

namespace CivicLens.Rules.Evaluators;

/// <summary>SKELETON (helper fills in): lasting change in a zone against the learned background.</summary>
public sealed class SceneChangeRule : RuleEvaluator
{
    public SceneChangeRule(SceneChangeRuleConfig rule, CameraContext context) : base(rule, context)
    {
    }

    public override void Evaluate(RuleFrame frame, List<RuleEvent> output)
    {
    }
}
