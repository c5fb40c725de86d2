/**
 * Figures out of a report, as files: each drawn figure as a standalone SVG document, or as a PNG rasterised by
 * resvg (`@resvg/resvg-js`, a native addon: loaded only when a PNG is asked for, so the rest of the library never
 * needs it; Deno runs it with `--allow-ffi`). PNG text uses the machine's fonts (DejaVu Sans where installed).
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { defangUrls } from "./escape.ts";

/** The file formats figures export to. */
export const FIGURE_FORMATS = ["svg", "png"] as const;

/** `svg` or `png`. */
export type FigureFormat = typeof FIGURE_FORMATS[number];

/** Pixels per SVG unit in exported PNGs (2: sharp on high-density screens and in papers). */
export const PNG_SCALE = 2;

/**
 * The drawing inside a figure's markup as a standalone SVG document (namespace set, external URLs defanged), or
 * `null` when the markup holds no `<svg>`. A figure with an HTML legend block is a `<figure>` whose legend
 * swatches are small `<svg>`s inside `<div>`s before the drawing: the drawing is the `<svg>` after the last
 * `</div>`.
 */
export function standaloneSvg(markup: string): string | null {
  const from = markup.startsWith("<figure") ? Math.max(0, markup.lastIndexOf("</div>")) : 0;
  const at = markup.indexOf("<svg", from), end = markup.lastIndexOf("</svg>");
  if (at < 0 || end < at) return null;
  let svg = markup.slice(at, end + 6);
  if (!svg.slice(0, 200).includes("xmlns=")) {
    svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  }
  return defangUrls(svg) + "\n";
}

interface Rasteriser {
  render(): { asPng(): Uint8Array };
}
type ResvgClass = new (
  svg: string,
  opts: {
    font: { loadSystemFonts: boolean; defaultFontFamily: string };
    fitTo: { mode: "zoom"; value: number };
    background: string;
  },
) => Rasteriser;

let resvg: Promise<ResvgClass> | null = null;

/** Rasterises one SVG document to PNG bytes at {@link PNG_SCALE}× on a white background. */
export async function svgToPng(svg: string, scale: number = PNG_SCALE): Promise<Uint8Array> {
  resvg ??= import("@resvg/resvg-js").then((m) => m.Resvg as unknown as ResvgClass).catch((e) => {
    resvg = null;
    throw new Error(
      `PNG export needs the npm package @resvg/resvg-js (a native addon; its loader needs --allow-ffi and --allow-sys=cpus,networkInterfaces,hostname): ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  });
  const Resvg = await resvg;
  const r = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
  return r.render().asPng();
}

/**
 * Writes each figure (`id` → standalone SVG) to `dir/<id>.<format>` atomically, creating `dir`; resolves to the
 * paths written, in order.
 */
export async function writeFigures(
  figures: ReadonlyMap<string, string>,
  dir: string,
  format: FigureFormat = "svg",
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [id, svg] of figures) {
    const path = join(dir, `${id}.${format}`);
    await writeFileAtomic(path, format === "png" ? await svgToPng(svg) : svg);
    paths.push(path);
  }
  return paths;
}

/** Parses a `--format` value; the error names the allowed ones. */
export function parseFigureFormat(value: string | undefined): FigureFormat {
  if (value === undefined) return "svg";
  if ((FIGURE_FORMATS as readonly string[]).includes(value)) return value as FigureFormat;
  throw new Error(`--format: expected ${FIGURE_FORMATS.join(" or ")}, got "${value}"`);
}
