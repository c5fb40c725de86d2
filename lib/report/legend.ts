/**
 * A figure's title and legend, drawn as plain SVG inside the plot's top margin. Plot's own colour legend is an
 * HTML `<div>` of small `<svg>` swatches beside the chart; drawing our own keeps each figure a single standalone
 * `<svg>` that reads the same in the report and as a `.svg` file, and lets a swatch show line style (raw,
 * smoothed, dashed validation) as well as colour.
 *
 * @module
 */

/** How a legend swatch is drawn. */
export type SwatchStyle = "line" | "faint" | "dashed-dot";

/** One legend entry. */
export interface LegendItem {
  /** Text beside the swatch. */
  label: string;
  /** CSS colour of the swatch. */
  color: string;
  /** Swatch shape: solid line, faint thin line, or dashed line with a dot. */
  style: SwatchStyle;
}

/** Where the header's parts go, computed before plotting so the plot can reserve the space. */
export interface HeaderLayout {
  /** Top-left corner of each legend item's swatch. */
  positions: { x: number; y: number }[];
  /** Pixels the title and legend take from the top of the figure. */
  height: number;
}

const TITLE_Y = 16;
const ROW_H = 16;
const SWATCH_W = 18;
const CHAR_W = 6.4; // rough advance of an 11px sans-serif character
const GAP = 18;

function itemWidth(item: LegendItem): number {
  return SWATCH_W + 6 + item.label.length * CHAR_W + GAP;
}

/** Lays legend items out left to right from `x0`, wrapping before `width`, below a title line. */
export function headerLayout(items: LegendItem[], x0: number, width: number): HeaderLayout {
  const positions: { x: number; y: number }[] = [];
  let x = x0, y = TITLE_Y + 14;
  for (const item of items) {
    const w = itemWidth(item);
    if (x > x0 && x + w > width) x = x0, y += ROW_H;
    positions.push({ x, y });
    x += w;
  }
  return { positions, height: items.length === 0 ? TITLE_Y + 6 : y + ROW_H / 2 };
}

function el(doc: Document, name: string, attrs: Record<string, string | number>): Element {
  const e = doc.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function swatch(doc: Document, item: LegendItem, x: number, y: number): Element[] {
  const line = (extra: Record<string, string | number>) =>
    el(doc, "line", { x1: x, x2: x + SWATCH_W, y1: y, y2: y, stroke: item.color, ...extra });
  switch (item.style) {
    case "line":
      return [line({ "stroke-width": 2 })];
    case "faint":
      return [line({ "stroke-width": 1.5, "stroke-opacity": 0.45 })];
    case "dashed-dot":
      return [
        line({ "stroke-width": 1.5, "stroke-dasharray": "4,3" }),
        el(doc, "circle", { cx: x + SWATCH_W / 2, cy: y, r: 2.5, fill: item.color }),
      ];
  }
}

/** What {@link drawHeader} writes: a title and legend from `x0`, and a y-axis label just above the frame. */
export interface HeaderText {
  /** Bold figure title. */
  title: string;
  /** Legend entries. */
  items: LegendItem[];
  /** Y-axis label, drawn as `↑ label` at the left edge, `yLabelAt` pixels from the top. */
  yLabel: string;
  /** Baseline of the y-axis label. */
  yLabelAt: number;
}

/**
 * Appends the header to `svg`, following `layout` from {@link headerLayout}. Text goes in as text nodes, so the
 * serializer escapes it.
 */
export function drawHeader(
  doc: Document,
  svg: Element,
  h: HeaderText,
  layout: HeaderLayout,
  x0: number,
): void {
  const { title, items } = h;
  const g = el(doc, "g", { "aria-label": "legend", "text-anchor": "start", "font-size": 11 });
  const t = el(doc, "text", { x: x0, y: TITLE_Y, "font-size": 13, "font-weight": 600 });
  t.appendChild(doc.createTextNode(title));
  g.appendChild(t);
  items.forEach((item, i) => {
    const { x, y } = layout.positions[i];
    for (const s of swatch(doc, item, x, y)) g.appendChild(s);
    const label = el(doc, "text", { x: x + SWATCH_W + 6, y, dy: "0.32em" });
    label.appendChild(doc.createTextNode(item.label));
    g.appendChild(label);
  });
  const y = el(doc, "text", { x: 6, y: h.yLabelAt });
  y.appendChild(doc.createTextNode(`↑ ${h.yLabel}`));
  g.appendChild(y);
  svg.appendChild(g);
}
