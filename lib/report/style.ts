/**
 * The CSS every report page shares (run and comparison reports, analysis pages, sweep reports): one typeface,
 * headings, tables, figures. Each page adds its own rules after it.
 *
 * @module
 */

/** Rules common to every page. */
export const BASE_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fff;
  max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e3e3; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.sub { color: #666; margin: 0 0 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { padding: 3px 12px 3px 0; border-bottom: 1px solid #eee; }
th { font-weight: 600; white-space: nowrap; }
td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
thead th { border-bottom: 1px solid #ccc; }
figure { margin: 18px 0 8px; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 12px; margin-top: 2px; }
p.empty { color: #888; font-style: italic; }
`;
