using CivicLens.Domain.Geometry;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CivicLens.Rules.Configuration;

/// <summary>
/// Loads the YAML configuration and validates it at start: unknown keys, self-intersecting polygons, zones
/// outside the frame, dangling references and impossible thresholds each get an error naming file, line and field.
/// All problems are reported together.
/// </summary>
public static class ConfigLoader
{
    private static readonly TimeSpan Zero = TimeSpan.Zero;

    public static CivicLensConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot read configuration file {path}: {ex.Message}", ex);
        }

        return Parse(text, path);
    }

    public static CivicLensConfig Parse(string yaml, string fileName = "config.yaml")
    {
        var errors = new ConfigErrors(fileName);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ConfigException([new ConfigError(fileName, (int)ex.Start.Line, (int)ex.Start.Column, "(syntax)", ex.Message)]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException([new ConfigError(fileName, 1, 1, "(root)", "the file must be a mapping with a 'cameras:' list")]);
        }

        var top = new YamlMap(root, "", errors);
        var config = ReadRoot(top, errors) with { SourceFile = fileName };
        top.Finish();
        if (errors.List.Count > 0) throw new ConfigException(errors.List);
        return config;
    }

    private static CivicLensConfig ReadRoot(YamlMap top, ConfigErrors errors)
    {
        var zone = TimeZoneInfo.Utc;
        if (top.String("timezone") is { } tz)
        {
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out var found))
            {
                top.Error(top.Get("timezone")!, "timezone", $"unknown time zone '{tz}' (use an IANA name such as Europe/Berlin)");
            }
            else
            {
                zone = found;
            }
        }

        DistrictConfig? district = null;
        if (top.Map("district") is { } d)
        {
            var did = d.Id();
            var dname = d.String("name", required: true);
            var outline = Outline(d);
            d.Finish();
            if (did is not null && dname is not null && outline is not null) district = new DistrictConfig(did, dname, outline);
        }

        var areas = new List<AreaConfig>();
        foreach (var m in top.Maps("areas"))
        {
            var id = m.Id();
            var name = m.String("name") ?? id;
            var outline = Outline(m);
            m.Finish();
            if (id is null || outline is null) continue;
            if (areas.Any(a => a.Id == id)) m.Error(m.Node, "id", $"area '{id}' is defined twice");
            else areas.Add(new AreaConfig(id, name!, outline));
        }

        if (areas.Count > 0 && district is null) top.Error("district", "is required when areas are listed");

        var departments = new List<DepartmentConfig>();
        foreach (var m in top.Maps("departments"))
        {
            var id = m.Id();
            var name = m.String("name") ?? id;
            var contact = m.String("contact");
            var categories = m.Strings("categories") ?? [];
            m.Finish();
            if (id is null) continue;
            if (departments.Any(a => a.Id == id)) m.Error(m.Node, "id", $"department '{id}' is defined twice");
            else departments.Add(new DepartmentConfig(id, name!, contact, categories));
        }

        var sites = new List<SiteConfig>();
        foreach (var m in top.Maps("sites"))
        {
            var id = m.Id();
            var name = m.String("name") ?? id;
            var kind = m.String("kind");
            var area = m.String("area");
            var outline = m.Has("outline") ? Outline(m) : null;
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            if (m.Map("attributes") is { } attrs)
            {
                foreach (var (key, value) in attrs.Scalars()) attributes[key] = value;
                attrs.Finish();
            }

            m.Finish();
            if (id is null) continue;
            if (area is not null && areas.All(a => a.Id != area)) m.Error(m.Get("area")!, "area", $"unknown area '{area}' (areas: {List(areas.Select(a => a.Id))})");
            if (sites.Any(s => s.Id == id)) m.Error(m.Node, "id", $"site '{id}' is defined twice");
            else sites.Add(new SiteConfig(id, name!, kind) { Area = area, Outline = outline, Attributes = attributes });
        }

        var signals = new List<SignalConfig>();
        foreach (var m in top.Maps("signals")) ReadSignal(m, signals);

        var cameras = new List<CameraConfig>();
        if (!top.Has("cameras")) top.Error("cameras", "is required: list the cameras to analyse");
        foreach (var m in top.Maps("cameras"))
        {
            if (ReadCamera(m, sites, signals, areas, departments) is not { } camera) continue;
            if (cameras.Any(c => c.Id == camera.Id)) m.Error(m.Node, "id", $"camera '{camera.Id}' is defined twice");
            else cameras.Add(camera);
        }

        return new CivicLensConfig
        {
            TimeZone = zone,
            Sites = sites,
            Cameras = cameras,
            Signals = signals,
            District = district,
            Areas = areas,
            Departments = departments,
        };
    }

    /// <summary>
    /// A camera's source, with <c>${CIVICLENS_HOME}</c> (the data folder, defaulted like everywhere else) and other
    /// <c>${VARIABLE}</c>s expanded, so a shared file can point at installed samples or keep credentials in the environment.
    /// </summary>
    private static string? ExpandSource(YamlMap m)
    {
        var source = m.String("source");
        if (source is null || !source.Contains("${", StringComparison.Ordinal)) return source;
        return System.Text.RegularExpressions.Regex.Replace(source, @"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", match =>
        {
            var name = match.Groups[1].Value;
            if (name == CivicLens.Domain.CivicLensHome.EnvironmentVariable) return CivicLens.Domain.CivicLensHome.Resolve().Root;
            var value = Environment.GetEnvironmentVariable(name);
            if (value is null) m.Error(m.Get("source")!, "source", $"environment variable {name} is not set");
            return value ?? "";
        });
    }

    /// <summary>A closed outline of at least three [longitude, latitude] points.</summary>
    private static IReadOnlyList<GeoPoint>? Outline(YamlMap m)
    {
        var points = m.GeoPoints("outline", required: true);
        if (points is null) return null;
        if (points.Count < 3)
        {
            m.Error("outline", "needs at least three [longitude, latitude] points");
            return null;
        }

        return points;
    }

    private static void ReadSignal(YamlMap m, List<SignalConfig> signals)
    {
        var id = m.Id();
        var external = m.Bool("external") ?? false;
        var cycle = m.Duration("cycle", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1));
        var offset = m.Duration("offset") ?? Zero;
        var maxAge = m.Duration("max_age", min: TimeSpan.FromMilliseconds(100)) ?? TimeSpan.FromSeconds(5);
        var clock = m.String("clock") ?? "stream";
        if (clock is not ("stream" or "wall")) m.Error(m.Get("clock")!, "clock", $"'{clock}' must be stream (recorded footage) or wall (a live controller)");
        var red = new List<(TimeSpan, TimeSpan)>();
        foreach (var w in m.Maps("red"))
        {
            var from = w.Duration("from", required: true);
            var to = w.Duration("to", required: true);
            w.Finish();
            if (from is null || to is null) continue;
            if (to <= from) w.Error("to", "must be after 'from'");
            else if (cycle is { } c && to > c) w.Error("to", $"is beyond the cycle length {Durations.Format(c)}");
            else red.Add((from.Value, to.Value));
        }

        m.Finish();
        if (id is null) return;
        if (external && cycle is not null) m.Error("cycle", "an external signal has no cycle: remove 'cycle' or 'external'");
        if (!external && cycle is null) m.Error("cycle", "is required unless the signal is 'external: true'");
        if (!external && cycle is not null && red.Count == 0) m.Error("red", "a scheduled signal needs at least one red window");
        if (signals.Any(s => s.Id == id)) m.Error(m.Node, "id", $"signal '{id}' is defined twice");
        signals.Add(new SignalConfig { Id = id, Cycle = external ? null : cycle, Red = red, Offset = offset, MaxAge = maxAge, WallClock = clock == "wall" });
    }

    private static CameraConfig? ReadCamera(YamlMap m, List<SiteConfig> sites, List<SignalConfig> signals, List<AreaConfig> areas, List<DepartmentConfig> departments)
    {
        var id = m.Id();
        var source = ExpandSource(m);
        var resolution = m.Get("resolution");
        int width = 0, height = 0;
        if (resolution is null) m.Error("resolution", "is required: [width, height] of the frames zones are drawn on");
        else if (m.Point("resolution") is { } r)
        {
            if (r.X < 16 || r.Y < 16 || r.X > 16384 || r.Y > 16384 || r.X != MathF.Floor(r.X) || r.Y != MathF.Floor(r.Y))
            {
                m.Error(resolution, "resolution", "must be two whole numbers between 16 and 16384");
            }
            else
            {
                (width, height) = ((int)r.X, (int)r.Y);
            }
        }

        var site = m.String("site");
        var purpose = m.String("purpose");
        var legalBasis = m.String("legal_basis");
        var department = m.String("department");
        var retention = m.Duration("retention", min: TimeSpan.FromHours(1), max: TimeSpan.FromDays(3650));
        var name = m.String("name");
        var area = m.String("area");
        if (area is not null && areas.All(a => a.Id != area)) m.Error(m.Get("area")!, "area", $"unknown area '{area}' (areas: {List(areas.Select(a => a.Id))})");
        if (department is not null && departments.Count > 0 && departments.All(x => x.Id != department))
        {
            m.Error(m.Get("department")!, "department", $"unknown department '{department}' (departments: {List(departments.Select(x => x.Id))})");
        }

        CameraPlacement? placement = null;
        var heading = m.Number("heading", 0, 360);
        var fov = m.Number("field_of_view", 1, 360);
        var range = m.Number("range", 1, 10_000);
        if (m.GeoPoint("location") is { } location) placement = new CameraPlacement(location, heading, fov, range);
        else if (heading is not null || fov is not null || range is not null) m.Error("location", "is required with heading, field_of_view or range");
        if (site is not null && sites.All(s => s.Id != site))
        {
            m.Error(m.Get("site")!, "site", $"unknown site '{site}' (sites: {List(sites.Select(s => s.Id))})");
        }

        var zones = ReadPolygons(m, "zones", width, height, site, sites);
        var masks = ReadPolygons(m, "privacy_masks", width, height, null, sites);

        var lines = new List<LineConfig>();
        foreach (var l in m.Maps("lines"))
        {
            var lid = l.Id();
            var from = l.Point("from", required: true);
            var to = l.Point("to", required: true);
            var inPoint = l.Point("in_point", required: true);
            var lsite = l.String("site") ?? site;
            l.Finish();
            if (lid is null || from is null || to is null || inPoint is null) continue;
            if (lines.Any(x => x.Id == lid)) { l.Error(l.Node, "id", $"line '{lid}' is defined twice"); continue; }
            var dx = to.Value.X - from.Value.X;
            var dy = to.Value.Y - from.Value.Y;
            if (dx * dx + dy * dy < 4) { l.Error("to", "a line needs two distinct end points"); continue; }
            var side = dx * (inPoint.Value.Y - from.Value.Y) - dy * (inPoint.Value.X - from.Value.X);
            if (MathF.Abs(side) < 1e-3f) { l.Error("in_point", "lies on the line: put it on the side that counts as 'in'"); continue; }
            foreach (var (p, key) in new[] { (from.Value, "from"), (to.Value, "to") })
            {
                if (width > 0 && (p.X < 0 || p.Y < 0 || p.X > width || p.Y > height)) l.Error(key, $"[{p.X}, {p.Y}] is outside the {width}x{height} frame");
            }

            lines.Add(new LineConfig(lid, from.Value, to.Value, inPoint.Value, lsite));
        }

        var rules = new List<RuleConfig>();
        foreach (var r in m.Maps("rules"))
        {
            if (RuleReader.Read(r, zones, lines, signals) is not { } rule) continue;
            if (rules.Any(x => x.Id == rule.Id)) r.Error(r.Node, "id", $"rule '{rule.Id}' is defined twice on this camera");
            else rules.Add(rule);
        }

        var health = new HealthConfig();
        if (m.Map("health") is { } h)
        {
            health = new HealthConfig
            {
                OfflineAfter = h.Duration("offline_after", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1)) ?? health.OfflineAfter,
                Tamper = h.Bool("tamper") ?? health.Tamper,
                TamperAfter = h.Duration("tamper_after", min: TimeSpan.FromSeconds(1), max: TimeSpan.FromHours(1)) ?? health.TamperAfter,
            };
            h.Finish();
        }

        m.Finish();
        if (id is null || width == 0) return null;
        return new CameraConfig
        {
            Id = id,
            Source = source,
            Width = width,
            Height = height,
            Site = site,
            Name = name,
            Area = area ?? sites.FirstOrDefault(x => x.Id == site)?.Area,
            Placement = placement,
            Zones = zones,
            Lines = lines,
            Rules = rules,
            PrivacyMasks = masks,
            Health = health,
            Purpose = purpose,
            LegalBasis = legalBasis,
            Department = department,
            Retention = retention,
            Location = new ConfigLocation(m.File, m.Line, m.Column, m.Path),
        };
    }

    private static List<ZoneConfig> ReadPolygons(YamlMap m, string key, int width, int height, string? site, List<SiteConfig> sites)
    {
        var zones = new List<ZoneConfig>();
        foreach (var z in m.Maps(key))
        {
            var zid = z.Id();
            var points = z.Points("polygon", required: true);
            var zsite = z.String("site") ?? site;
            z.Finish();
            if (zid is null || points is null) continue;
            if (zones.Any(x => x.Id == zid)) { z.Error(z.Node, "id", $"zone '{zid}' is defined twice"); continue; }
            if (zsite is not null && sites.All(s => s.Id != zsite)) z.Error("site", $"unknown site '{zsite}'");
            if (points.Count < 3) { z.Error(z.Get("polygon")!, "polygon", "needs at least 3 points"); continue; }
            var polygon = new Polygon(points);
            if (polygon.IsSelfIntersecting()) { z.Error(z.Get("polygon")!, "polygon", "edges cross each other: list the points in order around the zone"); continue; }
            if (Area(points) < 1f) { z.Error(z.Get("polygon")!, "polygon", "has no area"); continue; }
            var outside = points.Where(p => p.X < 0 || p.Y < 0 || p.X > width || p.Y > height).ToList();
            if (width > 0 && outside.Count > 0)
            {
                z.Error(z.Get("polygon")!, "polygon", $"point [{outside[0].X}, {outside[0].Y}] is outside the {width}x{height} frame");
                continue;
            }

            zones.Add(new ZoneConfig(zid, polygon, zsite));
        }

        return zones;
    }

    internal static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count == 0 ? "none defined" : string.Join(", ", all);
    }

    private static float Area(IReadOnlyList<PointF> p)
    {
        var a = 0f;
        for (int i = 0, j = p.Count - 1; i < p.Count; j = i++) a += (p[j].X + p[i].X) * (p[j].Y - p[i].Y);
        return MathF.Abs(a / 2);
    }
}
