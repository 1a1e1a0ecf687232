using System.Globalization;
using System.Text;
using CivicLens.Storage;
using CivicLens.Storage.Entities;

namespace CivicLens.Cli;

/// <summary>
/// The made-up district the registry and cluster benches register their cameras in: sixteen wards, one department,
/// and a CSV of cameras spread over them (the same cameras for the same count, so figures compare across runs).
/// </summary>
internal static class BenchDistrict
{
    public static readonly string[] Areas = [.. Enumerable.Range(1, 16).Select(i => $"ward-{i:D2}")];

    public static async Task SeedAsync(StorageOptions storage, CancellationToken ct)
    {
        await using var db = new CivicLensDb(StorageSetup.Options(storage));
        db.Areas.Add(new Area { Id = "bench-district", Name = "Bench district", Polygon = "[[[121.4,31.1],[121.8,31.1],[121.8,31.4],[121.4,31.4],[121.4,31.1]]]" });
        foreach (var a in Areas) db.Areas.Add(new Area { Id = a, Name = a, ParentId = "bench-district", Polygon = "[[[121.4,31.1],[121.8,31.1],[121.8,31.4],[121.4,31.1]]]" });
        db.Departments.Add(new Department { Id = "public-space", Name = "Public space" });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// <paramref name="n"/> cameras for the bulk importer; every <paramref name="runnableEvery"/>th has its accountability
    /// and an RTSP address (never opened) and is enabled, the others are registered as drafts with a place only.
    /// </summary>
    public static byte[] Csv(int n, int runnableEvery)
    {
        var random = new Random(290);
        var sb = new StringBuilder(n * 160);
        sb.Append("id,name,latitude,longitude,heading,source,purpose,legal_basis,department,retention_days,area,enabled\n");
        for (var i = 0; i < n; i++)
        {
            var lat = 31.1 + random.NextDouble() * 0.3;
            var lon = 121.4 + random.NextDouble() * 0.4;
            var area = Areas[i % Areas.Length];
            if (i % runnableEvery == 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"cam-{i:D6},Camera {i},{lat:0.000000},{lon:0.000000},{random.Next(360)},rtsp://10.{i / 65536 % 256}.{i / 256 % 256}.{i % 256}/stream1,")
                    .Append(CultureInfo.InvariantCulture, $"Traffic and public space safety,City Operations Ordinance s. 3,public-space,30,{area},true\n");
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"cam-{i:D6},Camera {i},{lat:0.000000},{lon:0.000000},,,,,,,{area},\n");
            }
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
