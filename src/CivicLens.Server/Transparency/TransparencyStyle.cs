namespace CivicLens.Server.Transparency;

/// <summary>The register's one stylesheet, served from <c>/transparency/style.css</c> (the CSP allows no inline style).</summary>
public static class TransparencyStyle
{
    public const string ContentType = "text/css; charset=utf-8";

    public const string Css = """
        :root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --box: #f3f6f9; }
        @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9da7b3; --line: #3d444d; --accent: #6cb6ff; --box: #161b22; } }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 60rem; padding: 1rem 1.25rem 3rem; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
        a { color: var(--accent); }
        h1 { font-size: 1.9rem; margin: 0.2rem 0; }
        h2 { font-size: 1.35rem; margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
        h3 { font-size: 1.1rem; margin-bottom: 0.4rem; }
        .kicker, .subtitle, footer, .more, .never-line { color: var(--muted); }
        .kicker { margin: 0; font-size: 0.9rem; }
        .lead { font-size: 1.1rem; }
        .never-box { background: var(--box); border: 1px solid var(--line); border-radius: 6px; padding: 0 1rem 0.5rem; }
        .never-box h2 { border: 0; margin-top: 0.8rem; }
        .never li::marker { content: "\2715  "; }
        .exports ul, .more ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; }
        .camera { border-top: 1px solid var(--line); padding: 0.5rem 0; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0.5rem 0; }
        dt { font-weight: 600; }
        dd { margin: 0; }
        dd ul { margin: 0; padding-left: 1.1rem; }
        .never-line { font-size: 0.9rem; margin: 0.25rem 0 0; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; margin: 1rem 0; font-size: 0.95rem; }
        caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
        th, td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
        td { font-variant-numeric: tabular-nums; }
        footer { margin-top: 3rem; border-top: 1px solid var(--line); font-size: 0.9rem; }
        .sign { max-width: 40rem; margin: 2rem auto; border: 6px solid var(--fg); border-radius: 12px; padding: 1.5rem 2rem; }
        .sign-title { font-size: 2.4rem; font-weight: 800; margin: 0; text-transform: uppercase; }
        .sign-subtitle { font-size: 1.3rem; margin-top: 0.2rem; }
        .sign dl { font-size: 1.15rem; }
        .sign-never { font-weight: 600; }
        .sign-more { word-break: break-all; }
        @media print {
          :root { --fg: #000; --muted: #333; --line: #999; --accent: #000; --box: #fff; color-scheme: light; }
          body { max-width: none; padding: 0; }
          .no-print, nav { display: none; }
          .sign { margin: 0; break-inside: avoid; }
          a { text-decoration: none; }
        }
        """;
}
