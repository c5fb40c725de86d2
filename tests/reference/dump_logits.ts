/**
 * Writes the logits of a trained run on a fixed token sequence, for tests/reference/torch_check.py.
 *
 * `deno run --allow-read --allow-write dump_logits.ts RUN_DIR OUT_JSON [--text TEXT]`
 *
 * The JSON holds {ids, logits (flat, row-major), vocab_size, shape: [1, T, vocab], model (the config's model
 * section), step, checkpoint (the model.safetensors that was loaded)}.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { T5 } from "../../lib/nn/models/t5.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { noGrad } from "../../lib/tensor/grad.ts";

/** The text whose characters form the fixed token sequence (cropped to block_size). */
export const DEFAULT_TEXT = "export function add(a: number, b: number) {";

/** What {@link dumpLogits} writes. */
export interface LogitsDump {
  /** Token ids fed to the model (one sequence). */
  ids: number[];
  /** Logits, flat in row-major order of `shape`. */
  logits: number[];
  /** Vocabulary size. */
  vocab_size: number;
  /** [1, T, vocab_size]. */
  shape: number[];
  /** The run config's model section (n_layer, n_head, n_embd, block_size, bias, tie_weights, …). */
  model: Record<string, unknown>;
  /** Step of the loaded checkpoint. */
  step: number;
  /** Path of the loaded model.safetensors. */
  checkpoint: string;
}

/** Loads `runDir`, runs the first block_size (at most 32) tokens of `text`, writes the JSON to `outPath`. */
export async function dumpLogits(runDir: string, outPath: string, text = DEFAULT_TEXT): Promise<LogitsDump> {
  const { model, tokenizer, config, step } = await loadRun(runDir);
  if (model instanceof T5) throw new Error("dump_logits: the reference check is for gpt and bert runs");
  const T = Math.min(32, config.model.block_size);
  const ids = tokenizer.encode(text).slice(0, T);
  if (ids.length === 0) throw new Error("dump_logits: the text encodes to no tokens");
  const { logits } = noGrad(() => model.forward(ids, 1, ids.length));
  const dump: LogitsDump = {
    ids: [...ids],
    logits: Array.from(logits.data),
    vocab_size: tokenizer.vocabSize,
    shape: [...logits.shape],
    model: { ...config.model },
    step,
    checkpoint: join(runDir, "checkpoints", `step-${String(step).padStart(6, "0")}`, "model.safetensors"),
  };
  await Deno.writeTextFile(outPath, JSON.stringify(dump) + "\n");
  return dump;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { text: { type: "string", default: DEFAULT_TEXT } },
  });
  if (positionals.length !== 2) {
    console.error("usage: dump_logits.ts RUN_DIR OUT_JSON [--text TEXT]");
    Deno.exit(2);
  }
  const d = await dumpLogits(positionals[0], positionals[1], values.text);
  console.log(`${positionals[1]}: ${d.ids.length} tokens, logits [${d.shape}] from ${d.checkpoint}`);
}
