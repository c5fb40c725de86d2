/**
 * Cross-check against PyTorch: a trained checkpoint must load by name (strict) into a module tree laid out like
 * nanoGPT's GPT and give the same logits. Skipped unless the test has --allow-run and /usr/bin/python3 imports
 * torch. See tests/reference/README.md.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import type { ModelConfig } from "../../lib/experiment/schema.ts";
import { swigluHidden } from "../../lib/nn/layers.ts";
import { loadSafetensors } from "../../lib/train/safetensors.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { dumpLogits } from "./dump_logits.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./torch_check.py", import.meta.url));
const TOLERANCE = 1e-4;

/** Why the check cannot run here, or null when it can. */
function skipReason(): string | null {
  if (Deno.permissions.querySync({ name: "run", command: PYTHON }).state !== "granted") {
    return "no --allow-run";
  }
  try {
    const r = new Deno.Command(PYTHON, { args: ["-c", "import torch"] }).outputSync();
    return r.success ? null : `${PYTHON} cannot import torch`;
  } catch {
    return `${PYTHON} not found`;
  }
}
const skip = skipReason();

// Longer and hotter than plain tiny (20 steps leave the weights so close to their init that, e.g., tanh-GELU or
// eps 1e-6 changes the logits by less than the tolerance); 300 steps take a few seconds and move them enough.
const TRAIN = [
  "train.max_steps=300",
  "train.learning_rate=1e-2",
  "train.min_learning_rate=1e-3",
  "train.eval_interval=300",
  "train.eval_steps=1",
  "train.checkpoint_interval=300",
  "train.log_interval=100",
  "train.sample_tokens=0",
];

interface TorchResult {
  ok: boolean;
  error?: string;
  max_abs_diff: number;
  max_abs_diff_fp64: number;
  max_abs_logit: number;
  argmax_agree: boolean;
  tied: boolean;
  tied_ok: boolean | null;
  loaded: [string, number[]][];
}

/**
 * nanoGPT's state_dict names and shapes, in its order, for a model shape; for the variants, no wpe without
 * learned positions, weight-only RMSNorms, and HF LLaMA's gate_proj/up_proj/down_proj for SwiGLU.
 */
function nanoGptNames(m: ModelConfig, vocab: number): [string, number[]][] {
  const C = m.n_embd;
  const out: [string, number[]][] = [];
  const lin = (name: string, outF: number, inF: number) => {
    out.push([`${name}.weight`, [outF, inF]]);
    if (m.bias) out.push([`${name}.bias`, [outF]]);
  };
  const ln = (name: string) => {
    out.push([`${name}.weight`, [C]]);
    if (m.bias && m.norm === "layernorm") out.push([`${name}.bias`, [C]]);
  };
  out.push(["transformer.wte.weight", [vocab, C]]);
  if (m.position === "learned") out.push(["transformer.wpe.weight", [m.block_size, C]]);
  for (let i = 0; i < m.n_layer; i++) {
    const h = `transformer.h.${i}`;
    ln(`${h}.ln_1`);
    lin(`${h}.attn.c_attn`, 3 * C, C);
    lin(`${h}.attn.c_proj`, C, C);
    ln(`${h}.ln_2`);
    if (m.mlp === "swiglu") {
      const hidden = m.mlp_hidden ?? swigluHidden(C);
      lin(`${h}.mlp.gate_proj`, hidden, C);
      lin(`${h}.mlp.up_proj`, hidden, C);
      lin(`${h}.mlp.down_proj`, C, hidden);
    } else {
      const hidden = m.mlp_hidden ?? 4 * C;
      lin(`${h}.mlp.c_fc`, hidden, C);
      lin(`${h}.mlp.c_proj`, C, hidden);
    }
  }
  ln("transformer.ln_f");
  out.push(["lm_head.weight", [vocab, C]]);
  return out;
}

/** Trains tiny with `sets`, dumps its logits, runs the PyTorch check; returns the script's result. */
async function check(sets: string[]): Promise<TorchResult> {
  const out = await Deno.makeTempDir({ prefix: "lcm-torch-" });
  try {
    const { config } = loadConfig({
      path: "configs/tiny.jsonc",
      sets: [`run.out_dir=${out}`, ...TRAIN, ...sets],
    });
    const run = await runExperiment({ config, noReport: true });
    const jsonPath = join(out, "logits.json");
    const dump = await dumpLogits(run.runDir, jsonPath);
    const p = await new Deno.Command(PYTHON, { args: [SCRIPT, jsonPath] }).output();
    const stdout = new TextDecoder().decode(p.stdout).trim();
    const last = stdout.split("\n").at(-1) ?? "";
    let r: TorchResult;
    try {
      r = JSON.parse(last);
    } catch {
      throw new Error(`torch_check.py printed no JSON:\n${stdout}\n${new TextDecoder().decode(p.stderr)}`);
    }
    assertTrue(r.ok && p.success, `torch_check.py failed: ${r.error ?? new TextDecoder().decode(p.stderr)}`);
    console.log(
      `  ${sets.join(" ") || "(tied, bias)"}: max_abs_diff ${r.max_abs_diff.toExponential(2)} ` +
        `(torch fp64: ${r.max_abs_diff_fp64.toExponential(2)}; max |logit| ${r.max_abs_logit.toFixed(2)})`,
    );

    // Names and shapes: what PyTorch loaded is nanoGPT's list, and exactly what the file holds.
    const expected = nanoGptNames(config.model, dump.vocab_size);
    assertEquals(r.loaded, expected);
    const file = await loadSafetensors(dump.checkpoint);
    const inFile = Object.entries(file.tensors).map(([k, t]) => [k, [...t.shape]]).sort();
    assertEquals(inFile, [...expected].sort());
    // Logits.
    assertTrue(r.max_abs_diff < TOLERANCE, `max_abs_diff ${r.max_abs_diff} >= ${TOLERANCE}`);
    assertTrue(r.argmax_agree, "argmax differs");
    return r;
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

const NAME = "PyTorch/nanoGPT loads the checkpoint by name and gives the same logits";

Deno.test({ name: `${NAME}: tied weights, bias`, ignore: skip !== null }, async () => {
  const r = await check([]);
  assertTrue(r.tied && r.tied_ok === true, "lm_head.weight and transformer.wte.weight should be one tensor");
});

Deno.test({ name: `${NAME}: untied weights`, ignore: skip !== null }, async () => {
  const r = await check(["model.tie_weights=false"]);
  assertEquals(r.tied, false);
});

Deno.test({ name: `${NAME}: bias=false`, ignore: skip !== null }, async () => {
  const r = await check(["model.bias=false"]);
  assertTrue(r.loaded.every(([n]) => !n.endsWith(".bias")));
});

Deno.test({ name: `${NAME}: 2 layers, 4 heads, dropout 0.1`, ignore: skip !== null }, async () => {
  await check(["model.n_layer=2", "model.n_head=4", "model.dropout=0.1"]);
});

Deno.test(
  { name: `${NAME}: LLaMA variants (rope, rmsnorm, swiglu, no bias)`, ignore: skip !== null },
  async () => {
    const r = await check([
      "model.position=rope",
      "model.norm=rmsnorm",
      "model.mlp=swiglu",
      "model.bias=false",
    ]);
    assertTrue(r.loaded.some(([n]) => n.endsWith("mlp.gate_proj.weight")));
  },
);

Deno.test({ name: `${NAME}: post-norm, no positions`, ignore: skip !== null }, async () => {
  const r = await check(["model.norm_placement=post", "model.position=none"]);
  assertTrue(r.loaded.every(([n]) => n !== "transformer.wpe.weight"));
});
