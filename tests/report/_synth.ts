/**
 * Writes synthetic run directories for report tests (deterministic, no trainer needed).
 *
 * @module
 */
import { join } from "node:path";

/** What to put in a synthetic run. */
export interface SynthOptions {
  /** Number of train events (logged every `every` steps). */
  trainPoints: number;
  /** Steps between train events (default 1). */
  every?: number;
  /** Steps between validation events (default 250). */
  evalEvery?: number;
  /** Peak learning rate (default 3e-3). */
  lr?: number;
  /** Seed of the noise (default 1). */
  seed?: number;
  /** Write `samples.txt` with this text. */
  samples?: string;
  /** Append a cut-off line, as a killed run leaves. */
  truncated?: boolean;
  /** Write config.json and manifest.json (default true). */
  withMeta?: boolean;
  /** Manifest `name` (default `synthetic`). */
  name?: string;
}

/** Creates `dir` (must not exist yet) as a run directory; returns `dir`. */
export async function writeSyntheticRun(dir: string, o: SynthOptions): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const every = o.every ?? 1, evalEvery = o.evalEvery ?? 250, lr = o.lr ?? 3e-3;
  let s = (o.seed ?? 1) >>> 0;
  const noise = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  const lines: string[] = [];
  const maxStep = o.trainPoints * every;
  for (let i = 1; i <= o.trainPoints; i++) {
    const step = i * every;
    const loss = 1.1 + 3.5 * Math.exp(-step / (maxStep / 6)) + 0.25 * noise();
    const rate = lr * Math.min(1, step / (maxStep / 20)) * 0.5 * (1 + Math.cos((Math.PI * step) / maxStep));
    lines.push(JSON.stringify({
      step,
      split: "train",
      loss,
      lr: rate,
      grad_norm: 0.3 + 2 * Math.exp(-step / (maxStep / 8)) + 0.2 * Math.abs(noise()),
      tokens_per_s: 5000 + 400 * noise(),
      elapsed_s: step * 0.01,
    }));
    if (step % evalEvery === 0) {
      const v = 1.2 + 3.5 * Math.exp(-step / (maxStep / 6));
      lines.push(JSON.stringify({ step, split: "val", loss: v, ppl: Math.exp(v), elapsed_s: step * 0.01 }));
    }
  }
  let text = lines.join("\n") + "\n";
  if (o.truncated) text += '{"step": 99999, "split": "tr';
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), text);
  if (o.withMeta ?? true) {
    const name = o.name ?? "synthetic";
    await Deno.writeTextFile(
      join(dir, "config.json"),
      JSON.stringify({
        model: { family: "gpt", n_layer: 2, n_head: 2, n_embd: 32, block_size: 32 },
        train: { max_steps: maxStep, batch_size: 8, learning_rate: lr },
        run: { name, out_dir: "runs" },
      }),
    );
    await Deno.writeTextFile(
      join(dir, "manifest.json"),
      JSON.stringify({
        name,
        seed: o.seed ?? 1,
        params: 31_000,
        vocab_size: 96,
        status: "completed",
        start_time: "2026-11-25T10:00:00Z",
        end_time: "2026-11-25T10:05:00Z",
        git_commit: null,
        final: { step: maxStep, train_loss: 1.15, val_loss: 1.25 },
      }),
    );
  }
  if (o.samples !== undefined) await Deno.writeTextFile(join(dir, "samples.txt"), o.samples);
  return dir;
}
