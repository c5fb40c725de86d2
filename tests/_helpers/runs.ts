/**
 * Reading run directories in tests.
 *
 * @module
 */
import { join } from "node:path";

/** One metrics.jsonl event. */
export type Event = Record<string, number | string | null>;

/** The events of a run directory's metrics.jsonl, in order. */
export async function readMetrics(dir: string): Promise<Event[]> {
  return (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
}

/** The fields of an event that must not depend on wall-clock time (absent ones stay undefined). */
export function stableFields(e: Event): Record<string, unknown> {
  return {
    step: e.step,
    split: e.split,
    loss: e.loss,
    lr: e.lr,
    grad_norm: e.grad_norm,
    masked_accuracy: e.masked_accuracy,
    exact_match: e.exact_match,
    loss_scale: e.loss_scale,
    skipped_steps: e.skipped_steps,
  };
}
