/**
 * Helpers shared by the end-to-end benches: integer flag parsing with clear errors, rounding for JSON output,
 * and the peak-RSS probe (the same three sources, in the same order, as `train_throughput.ts`).
 *
 * @module
 */
import process from "node:process";

/** Parses `raw` as an integer >= `min`; throws an Error naming `--name` otherwise. */
export function intFlag(name: string, raw: string, min: number): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(v) || v < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return v;
}

/** `v` rounded to `d` decimals. */
export function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/**
 * Peak resident set size, from the first source that answers:
 * 1. `VmHWM` in /proc/self/status (Deno 2.9 only lets a script read /proc/self with --allow-all);
 * 2. `ru_maxrss` of getrusage via `node:process` `resourceUsage().maxRSS` (the same peak, no permission needed;
 *    it is what torch_gpt.py reports);
 * 3. the largest `Deno.memoryUsage().rss` seen by {@link PeakRss.sample}.
 */
export class PeakRss {
  #sampled = 0;

  /** Records the current RSS (the last-resort source). */
  sample(): void {
    this.#sampled = Math.max(this.#sampled, Deno.memoryUsage().rss);
  }

  /** Peak in MiB and where it came from. */
  read(): { mb: number; source: string } {
    try {
      const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
      if (m) return { mb: Number(m[1]) / 1024, source: "VmHWM" };
    } catch {
      // not readable (no --allow-all) or not Linux: try the next source
    }
    try {
      const kb = process.resourceUsage().maxRSS;
      if (kb > 0) return { mb: kb / 1024, source: "getrusage ru_maxrss" };
    } catch {
      // not available: fall through
    }
    this.sample();
    return { mb: this.#sampled / (1024 * 1024), source: "Deno.memoryUsage().rss (max of samples)" };
  }
}
