/**
 * Progress display for long commands: a redrawn bar on a terminal, a plain line per update otherwise.
 *
 * @module
 */
import type { Progress } from "../train/trainer.ts";

function fmtTime(s: number): string {
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, "0")}`;
}

/** One plain progress line: step, interval loss, last validation loss, tokens/s, elapsed time and ETA. */
export function progressLine(p: Progress): string {
  const eta = p.step > 0 ? (p.elapsed / p.step) * (p.maxSteps - p.step) : 0;
  const val = p.valLoss === null ? "" : ` val ${p.valLoss.toFixed(4)}`;
  return `step ${p.step}/${p.maxSteps} loss ${p.loss.toFixed(4)}${val} ${Math.round(p.tokensPerS)} tok/s ` +
    `${fmtTime(p.elapsed)} elapsed, eta ${fmtTime(eta)}`;
}

/**
 * Creates a progress callback writing to `write`: a redrawn bar when `tty`, else one {@link progressLine} per
 * call (the trainer calls it once per log interval).
 */
export function progressPrinter(
  write: (s: string) => void,
  tty: boolean,
): { update: (p: Progress) => void; done: () => void } {
  let drawn = false;
  return {
    update(p) {
      if (tty) {
        const width = 24, filled = Math.round((p.step / p.maxSteps) * width);
        write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${progressLine(p)}\x1b[K`);
        drawn = true;
      } else {
        write(progressLine(p) + "\n");
      }
    },
    done() {
      if (tty && drawn) write("\n");
    },
  };
}
