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

    /// <summary>
    /// Reads one camera of the registry: its analytics <paramref name="definition"/> (a YAML or JSON mapping with
    /// resolution, zones, lines, privacy_masks, rules and health) completed by the registry's own fields, checked
    /// against the district's sites, signals, areas and departments exactly as a district file's camera is.
    /// </summary>
    /// <param name="fields">The registry's columns as district-file keys (name, site, area, purpose, legal_basis, department,
    /// retention, location, heading, field_of_view, range, source); null values are left out.</param>
    public static CameraConfig ParseCamera(string id, string? definition, IReadOnlyDictionary<string, object?> fields, CivicLensConfig district,
        string origin = "camera")
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(district);
        var errors = new ConfigErrors(origin);
        YamlMappingNode node;
        if (string.IsNullOrWhiteSpace(definition))
        {
            node = new YamlMappingNode();
        }
        else
        {
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(definition));
            }
            catch (YamlException ex)
            {
                throw new ConfigException([new ConfigError(origin, (int)ex.Start.Line, (int)ex.Start.Column, "(syntax)", ex.Message)]);
            }

            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            {
                throw new ConfigException([new ConfigError(origin, 1, 1, "(root)", "a camera's definition is a mapping (resolution, zones, lines, rules)")]);
            }

            node = root;
        }

        foreach (var key in RegistryKeys)
        {
            if (node.Children.ContainsKey(new YamlScalarNode(key)))
            {
                throw new ConfigException([new ConfigError(origin, 1, 1, key, $"'{key}' is a field of the camera's registry entry, not of its analytics definition")]);
            }
        }

        // The registry's fields join the definition so one reader checks the whole camera.
        var whole = new YamlMappingNode { { "id", id } };
        foreach (var (k, v) in node.Children) whole.Add(k, v);
        foreach (var (key, value) in fields)
        {
            switch (value)
            {
                case null:
                    break;
                case (double lon, double lat):
                    whole.Add(key, new YamlSequenceNode(new YamlScalarNode(Invariant(lon)), new YamlScalarNode(Invariant(lat))));
                    break;
                case double d:
                    whole.Add(key, Invariant(d));
                    break;
                default:
                    whole.Add(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    break;
            }
        }

        // A camera registered without analytics (a bulk import) has no zones yet; the common HD frame stands in.
        if (!whole.Children.ContainsKey(new YamlScalarNode("resolution")))
        {
            whole.Add("resolution", new YamlSequenceNode(new YamlScalarNode("1920"), new YamlScalarNode("1080")));
        }

        var map = new YamlMap(whole, "", errors);
        var camera = ReadCamera(map, [.. district.Sites], [.. district.Signals], [.. district.Areas], [.. district.Departments]);
        if (errors.List.Count > 0 || camera is null) throw new ConfigException(errors.List.Count > 0 ? errors.List : [new ConfigError(origin, 1, 1, "id", "is required")]);
        return camera with { Location = new ConfigLocation(origin, 1, 1, $"cameras[{id}]") };
    }

    /// <summary>Keys a camera's registry entry holds; the rest of a district file's camera is its analytics definition.</summary>
    public static readonly IReadOnlyList<string> RegistryKeys =
        ["id", "name", "site", "area", "purpose", "legal_basis", "department", "retention", "location", "heading", "field_of_view", "range", "source"];

    /// <summary>
    /// Each camera of a district file as its analytics definition (YAML text without the registry's keys), for the
    /// registry to store. The file must be valid (<see cref="Parse"/>) first.
    /// </summary>
    public static IReadOnlyDictionary<string, string> CameraDefinitions(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return result;
        if (!root.Children.TryGetValue(new YamlScalarNode("cameras"), out var cameras) || cameras is not YamlSequenceNode list) return result;
        foreach (var item in list.Children.OfType<YamlMappingNode>())
        {
            if (!item.Children.TryGetValue(new YamlScalarNode("id"), out var idNode) || idNode is not YamlScalarNode { Value: { } id }) continue;
            var definition = new YamlMappingNode();
            foreach (var (k, v) in item.Children)
            {
                if (k is YamlScalarNode { Value: { } key } && !RegistryKeys.Contains(key)) definition.Add(k, v);
            }

            var writer = new StringWriter();
            new YamlStream(new YamlDocument(definition)).Save(writer, assignAnchors: false);
            var text = writer.ToString().TrimEnd();
            // The serializer closes the document with a '...' end marker.
            if (text.EndsWith("\n...", StringComparison.Ordinal)) text = text[..^4].TrimEnd();
            result[id] = text;
        }

        return result;
    }

    private static string Invariant(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

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
        var departmentMaps = new List<YamlMap>();
        foreach (var m in top.Maps("departments"))
        {
            var id = m.Id();
            var name = m.String("name") ?? id;
            var contact = m.String("contact");
            var categories = m.Strings("categories") ?? [];
            var covers = m.Strings("areas") ?? [];
            var hours = RuleReader.ReadSchedule(m, "hours");
            var afterHours = m.String("after_hours");
            var escalateTo = m.String("escalate_to");
            var delivery = ReadDelivery(m);
            m.Finish();
            if (id is null) continue;
            foreach (var a in covers.Where(a => areas.All(x => x.Id != a)))
            {
                m.Error(m.Get("areas")!, "areas", $"unknown area '{a}' (areas: {List(areas.Select(x => x.Id))})");
            }

            if (departments.Any(a => a.Id == id)) m.Error(m.Node, "id", $"department '{id}' is defined twice");
            else
            {
                departments.Add(new DepartmentConfig(id, name!, contact, categories)
                {
                    Areas = covers,
                    Hours = hours,
                    AfterHours = afterHours,
                    EscalateTo = escalateTo,
                    Delivery = delivery,
                });
                departmentMaps.Add(m);
            }
        }

        for (var i = 0; i < departments.Count; i++)
        {
            var (dep, m) = (departments[i], departmentMaps[i]);
            if (dep.AfterHours is { } ah && departments.All(x => x.Id != ah)) m.Error(m.Get("after_hours")!, "after_hours", $"unknown department '{ah}'");
            if (dep.EscalateTo is { } et && departments.All(x => x.Id != et)) m.Error(m.Get("escalate_to")!, "escalate_to", $"unknown department '{et}'");
            if (dep.EscalateTo == dep.Id) m.Error(m.Get("escalate_to")!, "escalate_to", "a department cannot escalate to itself");
        }

        var routing = ReadRouting(top, departments);

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

        var categoriesList = ReadCategories(top, departments, cameras);
        return new CivicLensConfig
        {
            Categories = categoriesList,
            Routing = routing,
            TimeZone = zone,
            Sites = sites,
            Cameras = cameras,
            Signals = signals,
            District = district,
            Areas = areas,
            Departments = departments,
        };
    }

    private static List<DeliveryConfig> ReadDelivery(YamlMap m)
    {
        var list = new List<DeliveryConfig>();
        foreach (var d in m.Maps("delivery"))
        {
            var email = d.String("email");
            var webhook = d.String("webhook");
            var open311 = d.Map("open311");
            var given = (email is null ? 0 : 1) + (webhook is null ? 0 : 1) + (open311 is null ? 0 : 1);
            if (given != 1) d.Error(d.Node, "delivery", "each delivery names exactly one of email, webhook or open311");
            if (email is not null)
            {
                if (!IsEmailAddress(email)) d.Error(d.Get("email")!, "email", $"'{email}' is not an email address");
                else list.Add(new DeliveryConfig("email", email));
            }

            if (webhook is not null) list.Add(new DeliveryConfig("webhook", webhook));
            if (open311 is not null)
            {
                var url = open311.String("url", required: true);
                var code = open311.String("service_code");
                var keyEnv = open311.String("api_key_env");
                open311.Finish();
                if (url is not null && !Uri.TryCreate(url, UriKind.Absolute, out _)) open311.Error(open311.Get("url")!, "url", $"'{url}' is not an absolute URL");
                else if (url is not null) list.Add(new DeliveryConfig("open311", url, code, keyEnv));
            }

            d.Finish();
        }

        return list;
    }

    private static bool IsEmailAddress(string text)
    {
        var at = text.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == text.LastIndexOf('@') && at < text.Length - 3 && text.IndexOf('.', at) > at + 1 && !text.Any(char.IsWhiteSpace) && text.Length <= 254;
    }

    private static RoutingConfig ReadRouting(YamlMap top, List<DepartmentConfig> departments)
    {
        var routing = new RoutingConfig();
        if (top.Map("routing") is { } r)
        {
            var fallback = r.String("fallback");
            var publicReports = r.Bool("public_reports");
            var distance = r.Number("photo_distance_warning", 10, 100_000);
            r.Finish();
            if (fallback is not null && departments.All(d => d.Id != fallback))
            {
                r.Error(r.Get("fallback")!, "fallback", $"unknown department '{fallback}' (departments: {List(departments.Select(d => d.Id))})");
            }

            routing = routing with
            {
                Fallback = fallback,
                PublicReports = publicReports ?? false,
                PhotoDistanceWarning = distance ?? routing.PhotoDistanceWarning,
            };
        }

        return routing;
    }

    /// <summary>
    /// The category list. Written out, it must name every category a department owns or a rule raises; left out,
    /// it is made of those names with default SLAs, so older files keep working.
    /// </summary>
    private static List<CategoryConfig> ReadCategories(YamlMap top, List<DepartmentConfig> departments, List<CameraConfig> cameras)
    {
        var list = new List<CategoryConfig>();
        var listed = top.Has("categories");
        foreach (var m in top.Maps("categories"))
        {
            var id = m.Id();
            var name = m.String("name") ?? id;
            var c = new CategoryConfig(id ?? "", name ?? "")
            {
                Description = m.String("description"),
                Group = m.String("group"),
                Public = m.Bool("public") ?? true,
            };
            c = c with
            {
                AcknowledgeWithin = m.Duration("acknowledge_within", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)) ?? c.AcknowledgeWithin,
                FixWithin = m.Duration("fix_within", TimeSpan.FromMinutes(1), TimeSpan.FromDays(365)) ?? c.FixWithin,
                DuplicateRadius = m.Number("duplicate_radius", 1, 10_000) ?? c.DuplicateRadius,
                DuplicateWindow = m.Duration("duplicate_window", TimeSpan.FromMinutes(1), TimeSpan.FromDays(365)) ?? c.DuplicateWindow,
                VerifyWithCamera = m.Bool("verify_with_camera") ?? true,
                Attributes = CategoryAttributeReader.Read(m),
            };
            if (c.AcknowledgeWithin > c.FixWithin)
            {
                // Only fix_within may be written: then it is the default acknowledge_within that does not fit.
                if (m.Get("acknowledge_within") is { } acknowledge) m.Error(acknowledge, "acknowledge_within", "is longer than fix_within");
                else m.Error(m.Get("fix_within")!, "fix_within", $"is shorter than the default acknowledge_within ({c.AcknowledgeWithin.TotalHours:0} h): set acknowledge_within too");
            }
            m.Finish();
            if (id is null) continue;
            if (list.Any(x => x.Id == id)) m.Error(m.Node, "id", $"category '{id}' is defined twice");
            else list.Add(c);
        }

        var used = departments.SelectMany(d => d.Categories).Concat(cameras.SelectMany(c => c.Rules).Select(r => r.Category).OfType<string>())
            .Distinct(StringComparer.Ordinal).ToList();
        if (!listed) return used.Select(u => new CategoryConfig(u, u)).ToList();
        foreach (var u in used.Where(u => list.All(c => c.Id != u)))
        {
            top.Error(top.Get("categories")!, "categories", $"category '{u}' is used by a department or a rule but not listed");
        }

        return list;
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
            var problems = GeometryCheck.Line(from.Value, to.Value, inPoint.Value, width, height);
            foreach (var problem in problems) l.Error(problem.Field, problem.Message);
            // A line outside the frame is still defined (its rules check against it); a degenerate one is not.
            if (problems.Any(x => !x.OutsideFrame)) continue;
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
            if (GeometryCheck.Zone(points, width, height) is { } problem) { z.Error(z.Get("polygon")!, "polygon", problem.Message); continue; }
            zones.Add(new ZoneConfig(zid, new Polygon(points), zsite));
        }

        return zones;
    }

    internal static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count == 0 ? "none defined" : string.Join(", ", all);
    }
}
