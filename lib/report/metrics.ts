/**
 * Parsing a run's `metrics.jsonl` (one JSON object per line) into train and validation series.
 *
 * Tolerant by design: a line that does not parse (say the last one, cut short when a run was killed) is skipped
 * and reported by number; events of unknown kinds are ignored; a step logged twice (a resumed run re-logs the
 * steps after its checkpoint) keeps its last occurrence; each `resume` event's step is kept in order.
 *
 * @module
 */

/** One training-step event. Fields other than `step` are absent when not logged or not finite. */
export interface TrainPoint {
  /** Optimizer step. */
  step: number;
  /** Training loss (nats per token). */
  loss?: number;
  /** Learning rate used at this step. */
  lr?: number;
  /** Global gradient norm (before clipping). */
  grad_norm?: number;
  /** Throughput. */
  tokens_per_s?: number;
  /** Seconds since the run started. */
  elapsed_s?: number;
  /** Resident memory of the process in MiB. */
  rss_mb?: number;
  /** ‖Δθ‖ / ‖θ‖ of the step's update per layer group (`embed`, `h.<i>`, `head`). */
  update_ratio?: Record<string, number>;
  /** Layer-wise learning rates: the effective rate of each layer group. */
  layer_lr?: Record<string, number>;
}

/** One validation event. */
export interface ValPoint {
  /** Optimizer step. */
  step: number;
  /** Validation loss (nats per token). */
  loss?: number;
  /** Perplexity as logged, else `exp(loss)`. */
  ppl?: number;
  /** bert runs: share of masked positions predicted right. */
  masked_accuracy?: number;
  /** t5 runs: share of held-out examples decoded exactly. */
  exact_match?: number;
  /** Seconds since the run started. */
  elapsed_s?: number;
}

/** One `detail` event: per-tensor norms and per-block activation statistics at a step. */
export interface DetailPoint {
  /** Optimizer step. */
  step: number;
  /** Per parameter tensor, in model order. */
  params: { name: string; grad_norm: number; weight_norm: number; update_ratio: number }[];
  /** Per block, in forward order. */
  blocks: { mean: number; std: number; dead_gelu: number | null }[];
}

/** The series found in a metrics file. */
export interface ParsedMetrics {
  /** Detail events sorted by step (`train.log_interval_detail`). */
  detail: DetailPoint[];
  /** Train events sorted by step, one per step. */
  train: TrainPoint[];
  /** Validation events sorted by step, one per step. */
  val: ValPoint[];
  /** The steps a resume started from, in file order (one `resume` event each). */
  resumes: number[];
  /** 1-based numbers of non-empty lines that were not a JSON object. */
  skippedLines: number[];
}

function finite(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** An object's finite number fields (others dropped); `undefined` when it is not an object or has none. */
function finiteRecord(v: unknown): Record<string, number> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === "number" && Number.isFinite(x)) out[k] = x;
  return Object.keys(out).length > 0 ? out : undefined;
}

function byStep<T extends { step: number }>(points: Map<number, T>): T[] {
  return [...points.values()].sort((a, b) => a.step - b.step);
}

/** Parses the text of a `metrics.jsonl` file. Never throws on malformed content. */
export function parseMetrics(text: string): ParsedMetrics {
  const train = new Map<number, TrainPoint>();
  const val = new Map<number, ValPoint>();
  const detail = new Map<number, DetailPoint>();
  const resumes: number[] = [];
  const skippedLines: number[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      skippedLines.push(i + 1);
      continue;
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      skippedLines.push(i + 1);
      continue;
    }
    const ev = o as Record<string, unknown>;
    const step = finite(ev, "step");
    if (step === undefined) continue;
    if (ev.split === "train") {
      train.delete(step); // re-insert so the last occurrence wins
      train.set(step, {
        step,
        loss: finite(ev, "loss"),
        lr: finite(ev, "lr"),
        grad_norm: finite(ev, "grad_norm"),
        tokens_per_s: finite(ev, "tokens_per_s"),
        elapsed_s: finite(ev, "elapsed_s"),
        rss_mb: finite(ev, "rss_mb"),
        update_ratio: finiteRecord(ev.update_ratio),
        layer_lr: finiteRecord(ev.layer_lr),
      });
    } else if (ev.split === "detail" && Array.isArray(ev.params) && Array.isArray(ev.blocks)) {
      const num = (o: unknown, k: string) =>
        typeof o === "object" && o !== null ? finite(o as Record<string, unknown>, k) ?? NaN : NaN;
      detail.delete(step);
      detail.set(step, {
        step,
        params: (ev.params as unknown[]).map((p) => ({
          name: String((p as { name?: unknown }).name ?? "?"),
          grad_norm: num(p, "grad_norm"),
          weight_norm: num(p, "weight_norm"),
          update_ratio: num(p, "update_ratio"),
        })),
        blocks: (ev.blocks as unknown[]).map((b) => ({
          mean: num(b, "mean"),
          std: num(b, "std"),
          dead_gelu: typeof (b as { dead_gelu?: unknown }).dead_gelu === "number"
            ? num(b, "dead_gelu")
            : null,
        })),
      });
    } else if (ev.split === "resume") {
      resumes.push(step);
    } else if (ev.split === "val") {
      const loss = finite(ev, "loss");
      val.delete(step);
      val.set(step, {
        step,
        loss,
        ppl: finite(ev, "ppl") ?? (loss === undefined ? undefined : Math.exp(loss)),
        masked_accuracy: finite(ev, "masked_accuracy"),
        exact_match: finite(ev, "exact_match"),
        elapsed_s: finite(ev, "elapsed_s"),
      });
    }
  }
  return { train: byStep(train), val: byStep(val), detail: byStep(detail), resumes, skippedLines };
}
