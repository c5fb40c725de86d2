/**
 * Hover read-outs for the report's line panels, where the browser runs script: moving the pointer over a panel
 * shows the step under it and every series' value at that step, with a rule and a dot per series. The figures
 * stay static SVG (their `<title>` tooltips work with script off); each panel carries its series and the mapping
 * of its scales as JSON next to it, and one small inline script (no library, no network) reads them.
 *
 * @module
 */

/** One hoverable line: its label, colour and points (steps ascending). */
export interface HoverSeries {
  /** Shown in the read-out. */
  label: string;
  /** CSS colour of its swatch and dot. */
  color: string;
  /** Steps, ascending. */
  xs: number[];
  /** Values at those steps. */
  ys: number[];
}

/** A continuous scale as the script maps it: data `domain` → SVG `range` (linear or log). */
export interface HoverScale {
  /** `linear` or `log`. */
  type: "linear" | "log";
  /** Data extent. */
  domain: [number, number];
  /** Pixel extent in the SVG's own units. */
  range: [number, number];
}

/** What a panel's hover script needs. */
export interface HoverData {
  /** The step axis. */
  x: HoverScale;
  /** The value axis. */
  y: HoverScale;
  /** The lines. */
  series: HoverSeries[];
}

interface PlotScale {
  type?: string;
  domain?: unknown[];
  range?: unknown[];
}

function scaleOf(s: PlotScale | undefined): HoverScale | null {
  if (s === undefined || !Array.isArray(s.domain) || !Array.isArray(s.range)) return null;
  const d = s.domain.map(Number), r = s.range.map(Number);
  if (d.length !== 2 || r.length !== 2 || ![...d, ...r].every(Number.isFinite)) return null;
  if (s.type !== "linear" && s.type !== "log") return null;
  return { type: s.type, domain: [d[0], d[1]], range: [r[0], r[1]] };
}

/**
 * The hover data of a panel drawn by Plot (`plot` is what `Plot.plot` returned: it answers `scale(name)`), or
 * `null` when a scale is not a plain continuous one or there is nothing to show.
 */
export function hoverData(plot: Element, series: HoverSeries[]): HoverData | null {
  const scale = (plot as unknown as { scale?: (n: string) => PlotScale | undefined }).scale;
  if (typeof scale !== "function") return null;
  const x = scaleOf(scale.call(plot, "x")), y = scaleOf(scale.call(plot, "y"));
  const shown = series.filter((s) => s.xs.length > 0);
  return x === null || y === null || shown.length === 0 ? null : { x, y, series: shown };
}

/** `data` as JSON that is safe inside an HTML `<script type="application/json">` element. */
export function hoverJson(data: HoverData): string {
  return JSON.stringify(data).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/** CSS of the read-out box (in the page's `<style>`). */
export const HOVER_CSS = `
figure.hover { position: relative; }
.hover-tip { position: absolute; pointer-events: none; background: rgba(255,255,255,.95); border: 1px solid #ccc;
  border-radius: 4px; padding: 4px 7px; font-size: 11px; line-height: 1.35; white-space: nowrap;
  box-shadow: 0 1px 3px rgba(0,0,0,.15); display: none; z-index: 2; }
.hover-tip .sw { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 5px; }
`;

/**
 * The page script. For every `<script type="application/json" class="hover-data">` inside a `<figure>`: on pointer
 * moves over the figure's `<svg>`, find the step under the pointer, the nearest point of each series, and show
 * them. Opening the page with `#hover-selftest` moves a synthetic pointer to the middle of the first panel and
 * writes the read-out into `<body data-hover-selftest>` (the browser test reads it from the dumped DOM).
 */
export const HOVER_SCRIPT = `
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function fmt(v) {
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : v.toPrecision(4);
  }
  function fwd(s, v) {
    var f = s.type === "log" ? Math.log : function (t) { return t; };
    return s.range[0] + (f(v) - f(s.domain[0])) / (f(s.domain[1]) - f(s.domain[0])) * (s.range[1] - s.range[0]);
  }
  function inv(s, px) {
    var t = (px - s.range[0]) / (s.range[1] - s.range[0]);
    if (s.type === "log") return Math.exp(Math.log(s.domain[0]) + t * (Math.log(s.domain[1]) - Math.log(s.domain[0])));
    return s.domain[0] + t * (s.domain[1] - s.domain[0]);
  }
  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
    return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
  }
  function setup(holder) {
    var fig = holder.parentElement, svg = null, i;
    for (i = 0; i < fig.children.length; i++) if (fig.children[i].tagName.toLowerCase() === "svg") svg = fig.children[i];
    if (svg === null) return null;
    var data = JSON.parse(holder.textContent);
    fig.classList.add("hover");
    var tip = document.createElement("div");
    tip.className = "hover-tip";
    fig.appendChild(tip);
    var layer = document.createElementNS(NS, "g");
    layer.setAttribute("pointer-events", "none");
    svg.appendChild(layer);
    function hide() { tip.style.display = "none"; while (layer.firstChild) layer.removeChild(layer.firstChild); }
    function show(clientX, clientY) {
      var ctm = svg.getScreenCTM();
      if (ctm === null) return hide();
      var pt = svg.createSVGPoint();
      pt.x = clientX; pt.y = clientY;
      var p = pt.matrixTransform(ctm.inverse());
      var r = data.x.range;
      if (p.x < Math.min(r[0], r[1]) || p.x > Math.max(r[0], r[1])) return hide();
      var step = inv(data.x, p.x);
      hide();
      tip.textContent = "";
      var head = document.createElement("div");
      head.style.fontWeight = "600";
      tip.appendChild(head);
      // the step shown: the logged step nearest the pointer over all lines; a line without a point there says
      // which step its value is from
      var best = null;
      data.series.forEach(function (s) {
        var k = nearest(s.xs, step);
        if (best === null || Math.abs(s.xs[k] - step) < Math.abs(best - step)) best = s.xs[k];
      });
      data.series.forEach(function (s) {
        var k = nearest(s.xs, step);
        var row = document.createElement("div"), sw = document.createElement("span");
        sw.className = "sw"; sw.style.background = s.color;
        row.appendChild(sw);
        row.appendChild(document.createTextNode(s.label + ": " + fmt(s.ys[k]) + (s.xs[k] !== best ? " (step " + s.xs[k] + ")" : "")));
        tip.appendChild(row);
        var dot = document.createElementNS(NS, "circle");
        dot.setAttribute("cx", fwd(data.x, s.xs[k])); dot.setAttribute("cy", fwd(data.y, s.ys[k]));
        dot.setAttribute("r", "3.5"); dot.setAttribute("fill", s.color); dot.setAttribute("stroke", "white");
        layer.appendChild(dot);
      });
      head.textContent = "step " + best;
      var rule = document.createElementNS(NS, "line"), y = data.y.range;
      rule.setAttribute("x1", fwd(data.x, best)); rule.setAttribute("x2", fwd(data.x, best));
      rule.setAttribute("y1", y[0]); rule.setAttribute("y2", y[1]);
      rule.setAttribute("stroke", "#888"); rule.setAttribute("stroke-dasharray", "2,2");
      layer.insertBefore(rule, layer.firstChild);
      var box = fig.getBoundingClientRect();
      tip.style.display = "block";
      var left = clientX - box.left + 14;
      if (left + tip.offsetWidth > box.width) left = clientX - box.left - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = Math.max(0, clientY - box.top - tip.offsetHeight - 8) + "px";
    }
    svg.addEventListener("pointermove", function (e) { show(e.clientX, e.clientY); });
    svg.addEventListener("pointerleave", hide);
    return { svg: svg, tip: tip, show: show };
  }
  var panels = [];
  document.querySelectorAll("figure > script.hover-data").forEach(function (h) {
    var p = setup(h);
    if (p !== null) panels.push(p);
  });
  if (location.hash === "#hover-selftest" && panels.length > 0) {
    var b = panels[0].svg.getBoundingClientRect();
    panels[0].show(b.left + b.width / 2, b.top + b.height / 2);
    document.body.setAttribute("data-hover-selftest", panels.length + " panels; " + panels[0].tip.textContent);
  }
})();
`;
