using System.CommandLine;
using CivicLens.Privacy.Sealed;

namespace CivicLens.Cli;

/// <summary><c>civiclens keys create PATH</c>: makes the key that seals unredacted originals (kept outside the database).</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "Where to write the key (mode 0600); never overwritten" };
        var create = new Command("create", "Create a new AES-256 sealing key for sealed originals") { path };
        create.SetAction((parse, _) => CliErrors.RunAsync(async () =>
        {
            using var key = SealingKey.Create(parse.GetValue(path)!);
            await Console.Out.WriteLineAsync($"sealing key {key.Id} written to {parse.GetValue(path)}; back it up apart from the database");
            return 0;
        }));
        return new Command("keys", "Keys for sealed originals") { create };
    }
}
