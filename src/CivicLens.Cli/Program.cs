using System.CommandLine;
using CivicLens.Cli;

// The `civiclens` command. Each verb lives in its own file; this reads as the table of contents.
var root = new RootCommand("CivicLens: privacy-first city operations. Turns camera streams into events a city can act on.");
root.Subcommands.Add(AnalyzeCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(AccuracyCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(DistrictCommand.Create());
root.Subcommands.Add(HoldsCommand.Create());
root.Subcommands.Add(RedactCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(NodeCommand.Create());
root.Subcommands.Add(ServeCommand.CreateAudit());
return await root.Parse(args).InvokeAsync();
