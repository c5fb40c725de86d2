/**
 * Number, date and duration formatting for the report's tables. Deterministic (UTC, fixed locale rules) so a
 * report is a pure function of its run directories.
 *
 * @module
 */

/** `812345.4` → `812,345` (rounded to an integer). */
export function groupDigits(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `812345` → `812,345 (0.81 M)`; small counts stay plain. */
export function formatCount(n: number): string {
  if (Math.abs(n) < 10_000) return groupDigits(n);
  const [v, unit] = Math.abs(n) >= 1e9
    ? [n / 1e9, "G"]
    : Math.abs(n) >= 1e6
    ? [n / 1e6, "M"]
    : [n / 1e3, "k"];
  return `${groupDigits(n)} (${v.toFixed(2)} ${unit})`;
}

/** A loss-like value with 4 decimals. */
export function formatLoss(v: number): string {
  return v.toFixed(4);
}

/** A perplexity: 2 decimals below 1000, else grouped digits. */
export function formatPpl(v: number): string {
  return v < 1000 ? v.toFixed(2) : groupDigits(v);
}

/** ISO timestamp → `2026-11-25 21:30:00 UTC`; an unparseable string is returned as-is. */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 19).replace("T", " ") + " UTC";
}

/** Seconds → `1h 02m 03s`, `4m 05s` or `12.3s`. */
export function formatDuration(seconds: number): string {
  if (!(seconds >= 0)) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}h ${pad(m)}m ${pad(r)}s` : `${m}m ${pad(r)}s`;
}

/** Median of a non-empty list (copy sorted); `undefined` for an empty one. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
