/**
 * Reference check against PyTorch: the same GPT, initial weights, batches and AdamW steps in both, and the two
 * loss curves in one report.
 *
 * Builds a small GPT (2 layers, width 64, block 64, learned positions, tied head, dropout 0) from a seed, saves
 * its initial weights as safetensors and draws `--steps` batches of 8 windows from the code corpus (char
 * tokenizer). Then trains it here (fp32, the default backend), and runs `train_check.py` with Debian's
 * `/usr/bin/python3` on exactly the same weights, batches and learning rates (warm-up then cosine), with
 * `torch.optim.AdamW` (betas 0.9/0.99, eps 1e-8, weight decay 0.1 on the ≥2-D non-embedding tensors) and
 * `clip_grad_norm_(1.0)`. The check passes when every step's loss agrees within `--tol` relative (default 1e-4).
 *
 *   apt-get install -y python3-torch libopenblas0-pthread      # once
 *   deno run --allow-read --allow-write=runs --allow-env --allow-run=/usr/bin/python3 \
 *     experiments/reference/train_check.ts [--steps 50] [--tol 1e-4] [--seed 1]
 *
 * It writes `runs/reference-check-<time>/`: `setup.json` and `weights.safetensors` (the inputs of both sides),
 * `ours/` and `pytorch/` (each a run directory with metrics.jsonl), `summary.json` and `report.html` (both
 * curves overlaid). Exit status 0 when the check passes, 1 when it does not, 2 when PyTorch is unavailable.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  AdamW,
  Batcher,
  CharTokenizer,
  clipGradNorm,
  cosineWithWarmup,
  GPT,
  loadCorpus,
  Rng,
  saveSafetensors,
  uniqueParams,
  writeReport,
} from "../../mod.ts";
import { modelTensors } from "../../lib/train/mod.ts";
import { withArena } from "../../lib/kernels/wasm/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "50" },
    tol: { type: "string", default: "1e-4" },
    seed: { type: "string", default: "1" },
  },
});
const steps = Number(values.steps), tol = Number(values.tol), seed = Number(values.seed);
if (!Number.isInteger(steps) || steps < 1 || !(tol > 0) || !Number.isInteger(seed)) {
  console.error("train_check: --steps and --seed must be integers (steps >= 1), --tol a number > 0");
  Deno.exit(2);
}

const PYTHON = "/usr/bin/python3";
const probe = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
  .output().catch(() => null);
if (probe === null || !probe.success) {
  console.error(
    `train_check: ${PYTHON} cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)`,
  );
  Deno.exit(2);
}

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
const dir = join("runs", `reference-check-${stamp}`);
await Deno.mkdir(dir, { recursive: true });

// the model, its initial weights and the batches
const corpus = await loadCorpus({ corpus: "code", paths: [], valFraction: 0.1 });
const tokenizer = CharTokenizer.fromText(corpus.train + corpus.val);
const model = { n_layer: 2, n_head: 4, n_embd: 64, block_size: 64, batch_size: 8 };
const gpt = new GPT({
  vocabSize: tokenizer.vocabSize,
  blockSize: model.block_size,
  nLayer: model.n_layer,
  nHead: model.n_head,
  nEmbd: model.n_embd,
  dropout: 0,
  bias: true,
  tieWeights: true,
}, new Rng(seed));
const weights = join(dir, "weights.safetensors");
await saveSafetensors(weights, modelTensors(gpt));
const batcher = new Batcher(
  tokenizer.encode(corpus.train),
  model.block_size,
  model.batch_size,
  new Rng(seed + 1),
);
const batches = Array.from({ length: steps }, () => batcher.next());
const schedule = cosineWithWarmup({
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: Math.min(10, steps),
  decaySteps: steps,
});
const lrs = batches.map((_, i) => schedule(i));
const optimizer = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.1, grad_clip: 1.0 };
const setupPath = join(dir, "setup.json");
await Deno.writeTextFile(
  setupPath,
  JSON.stringify({
    model: {
      vocab_size: tokenizer.vocabSize,
      block_size: model.block_size,
      n_layer: model.n_layer,
      n_head: model.n_head,
      n_embd: model.n_embd,
      dropout: 0,
      bias: true,
      tie_weights: true,
      position: "learned",
      rope_base: 10000,
      norm: "layernorm",
      norm_placement: "pre",
      mlp: "gelu",
      mlp_hidden: null,
    },
    weights,
    optimizer,
    lrs,
    batches: batches.map((b) => ({ x: [...b.x], y: [...b.y] })),
  }),
);

// ours
const params = uniqueParams(gpt.namedParameters());
const opt = new AdamW(params, {
  lr: lrs[0],
  beta1: optimizer.beta1,
  beta2: optimizer.beta2,
  eps: optimizer.eps,
  weightDecay: optimizer.weight_decay,
});
const ours: { loss: number; norm: number }[] = [];
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  const b = batches[i];
  const loss = withArena(() => {
    const out = gpt.forward(b.x, model.batch_size, model.block_size, { targets: b.y }).loss!;
    out.backward();
    return out.item();
  });
  const norm = withArena(() => {
    const n = clipGradNorm(params, optimizer.grad_clip);
    opt.step(lrs[i]);
    opt.zeroGrad();
    return n;
  });
  ours.push({ loss, norm });
}
const oursS = (performance.now() - t0) / 1000;

// PyTorch
const t1 = performance.now();
const py = await new Deno.Command(PYTHON, {
  args: [join(import.meta.dirname ?? "experiments/reference", "train_check.py"), setupPath],
  stdout: "piped",
  stderr: "piped",
}).output();
const torchS = (performance.now() - t1) / 1000;
const line = new TextDecoder().decode(py.stdout).trim().split("\n").pop() ?? "";
let theirs: { ok: boolean; losses?: number[]; grad_norms?: number[]; torch?: string; error?: string };
try {
  theirs = JSON.parse(line);
} catch {
  theirs = {
    ok: false,
    error: `no JSON from train_check.py: ${new TextDecoder().decode(py.stderr).slice(-500)}`,
  };
}
if (!theirs.ok || theirs.losses?.length !== steps) {
  console.error(`train_check: PyTorch side failed: ${theirs.error ?? "wrong number of losses"}`);
  Deno.exit(1);
}

// compare, write both as run directories and one report
const rel = ours.map((o, i) => Math.abs(o.loss - theirs.losses![i]) / Math.abs(theirs.losses![i]));
const maxRel = Math.max(...rel), worst = rel.indexOf(maxRel);
const normRel = Math.max(
  ...ours.map((o, i) => Math.abs(o.norm - theirs.grad_norms![i]) / theirs.grad_norms![i]),
);
for (
  const [name, losses, norms] of [
    ["ours", ours.map((o) => o.loss), ours.map((o) => o.norm)],
    ["pytorch", theirs.losses, theirs.grad_norms!],
  ] as const
) {
  const d = join(dir, name);
  await Deno.mkdir(d, { recursive: true });
  const events = losses.map((loss, i) =>
    JSON.stringify({ step: i + 1, split: "train", loss, lr: lrs[i], grad_norm: norms[i] })
  );
  await Deno.writeTextFile(join(d, "metrics.jsonl"), events.join("\n") + "\n");
  const label = name === "ours" ? `ours (Deno ${Deno.version.deno})` : `PyTorch ${theirs.torch}`;
  await Deno.writeTextFile(join(d, "manifest.json"), JSON.stringify({ name: label, status: "completed" }));
  await Deno.writeTextFile(join(d, "config.json"), JSON.stringify({ model, optimizer, steps, seed }));
}
const summary = {
  steps,
  seed,
  tolerance: tol,
  max_rel_loss_diff: maxRel,
  at_step: worst + 1,
  max_rel_grad_norm_diff: normRel,
  first_loss: [ours[0].loss, theirs.losses[0]],
  last_loss: [ours[steps - 1].loss, theirs.losses[steps - 1]],
  seconds: { ours: Math.round(oursS * 10) / 10, pytorch: Math.round(torchS * 10) / 10 },
  torch: theirs.torch,
  deno: Deno.version.deno,
  pass: maxRel <= tol,
};
await Deno.writeTextFile(join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
await writeReport([join(dir, "ours"), join(dir, "pytorch")], join(dir, "report.html"), {
  title: `Reference check: ${steps} AdamW steps, ours vs PyTorch (max relative loss difference ${
    maxRel.toExponential(2)
  })`,
});
console.log(
  `${steps} steps: loss ${ours[0].loss.toFixed(6)} → ${ours[steps - 1].loss.toFixed(6)} (ours), ` +
    `${theirs.losses[0].toFixed(6)} → ${theirs.losses[steps - 1].toFixed(6)} (PyTorch ${theirs.torch}); ` +
    `max relative loss difference ${maxRel.toExponential(2)} at step ${worst + 1} (tolerance ${tol}), ` +
    `grad norms within ${normRel.toExponential(2)}: ${summary.pass ? "PASS" : "FAIL"}\n${
      join(dir, "report.html")
    }`,
);
Deno.exit(summary.pass ? 0 : 1);
