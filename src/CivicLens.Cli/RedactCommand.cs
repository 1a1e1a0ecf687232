using System.CommandLine;
using System.Globalization;
using CivicLens.Pipeline.Stills;

namespace CivicLens.Cli;

/// <summary>
/// <c>civiclens redact IN... --out DIR</c>: redacts still images (faces, heads, plate bands) into fresh JPEGs without
/// metadata, one line per file saying what was hidden. A file that cannot be redacted gets an error line and no output;
/// the exit code is 1 when any file failed.
/// </summary>
internal static class RedactCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("images") { Description = "Images to redact (JPEG, PNG, WebP, GIF, BMP)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Folder for the redacted JPEGs (NAME.jpg each; created if missing)", Required = true };
        var models = CommonOptions.ModelsDirectory();
        var maxMegapixels = new Option<double>("--max-megapixels") { Description = "Refuse larger images, from their header", DefaultValueFactory = _ => 40 };
        var minScore = new Option<float>("--min-score")
        {
            Description = "Lowest person or vehicle score that gets a head region or plate band (lower hides more)",
            DefaultValueFactory = _ => new StillRedactionOptions().ScoreThreshold,
        };
        var command = new Command("redact", "Redact still images (faces, heads, vehicle plate bands) into metadata-free JPEGs")
        {
            inputs, output, models, maxMegapixels, minScore,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            var files = parse.GetValue(inputs)!;
            Directory.CreateDirectory(outDir);
            var options = new StillRedactionOptions
            {
                MaxPixels = (long)(parse.GetValue(maxMegapixels) * 1_000_000),
                ScoreThreshold = parse.GetValue(minScore),
            };
            using var redactor = StillRedactor.Open(parse.GetValue(models)!, options);
            var taken = new HashSet<string>(StringComparer.Ordinal);
            var failed = 0;
            foreach (var file in files)
            {
                ct.ThrowIfCancellationRequested();
                var target = OutputPath(outDir, file, taken);
                try
                {
                    if (string.Equals(Path.GetFullPath(file), target, StringComparison.Ordinal))
                    {
                        throw new StillRedactionException($"{Path.GetFileName(file)}: the output would replace the original; choose another --out folder.");
                    }

                    var still = redactor.RedactFile(file, target);
                    await Console.Out.WriteLineAsync(Describe(file, target, still));
                }
                catch (StillRedactionException ex)
                {
                    failed++;
                    await Console.Error.WriteLineAsync("error: " + ex.Message);
                }
            }

            if (failed > 0) await Console.Error.WriteLineAsync($"{failed} of {files.Length} images not redacted (nothing was written for them)");
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }

    internal static string Describe(string input, string output, RedactedStill s) => string.Create(CultureInfo.InvariantCulture,
        $"{input} -> {output}: hid {Count(s.Faces, "face")}, {Count(s.Heads, "head")}, {Count(s.PlateBands, "plate band")} ({s.Width}x{s.Height})");

    private static string Count(int n, string what) => string.Create(CultureInfo.InvariantCulture, $"{n} {what}{(n == 1 ? "" : "s")}");

    // NAME.jpg in the folder; a second input with the same name gets NAME-2.jpg rather than replacing the first.
    private static string OutputPath(string outDir, string input, HashSet<string> taken)
    {
        var stem = Path.GetFileNameWithoutExtension(input);
        if (string.IsNullOrEmpty(stem)) stem = "image";
        var path = Path.Combine(outDir, stem + ".jpg");
        for (var n = 2; !taken.Add(path); n++)
        {
            path = Path.Combine(outDir, string.Create(CultureInfo.InvariantCulture, $"{stem}-{n}.jpg"));
        }

        return path;
    }
}
