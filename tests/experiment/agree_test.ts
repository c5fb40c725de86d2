/**
 * Files of a run that disagree are named together, with both values: the tokenizer against the checkpoint's
 * embedding (generate and --resume), the config against the checkpoint's shapes, the optimizer state against the
 * parameters.
 */
import { join } from "node:path";
import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { saveTokenizer } from "../../lib/data/tokenizer.ts";
import { loadConfig } from "../../lib/experiment/config.ts";
import { loadRun } from "../../lib/experiment/load.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { encodeSafetensors } from "../../lib/train/safetensors.ts";
import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const corpus = await makeCodeCorpus();

/** A tiny run stopped at step 10 (its checkpoint), and its files. */
async function stopped(family = "gpt") {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const config = loadConfig({
    path: "configs/tiny.jsonc",
    sets: [
      `data.paths=["${corpus}"]`,
      `run.out_dir=${out}`,
      "train.sample_tokens=0",
      `model.family="${family}"`,
    ],
  }).config;
  let n = 0;
  const r = await runExperiment({ config, noReport: true, shouldStop: () => ++n >= 10 });
  const ck = join(r.runDir, "checkpoints", "step-000010");
  return {
    dir: r.runDir,
    tokenizer: join(r.runDir, "tokenizer.json"),
    config: join(r.runDir, "config.json"),
    weights: join(ck, "model.safetensors"),
    optimizer: join(ck, "optimizer.safetensors"),
    vocab: JSON.parse(await Deno.readTextFile(join(r.runDir, "manifest.json"))).vocab_size as number,
  };
}

Deno.test("a tokenizer that disagrees with the checkpoint: generate and --resume name both files", async () => {
  const run = await stopped();
  await saveTokenizer(run.tokenizer, CharTokenizer.fromText("abc"));
  const want = `${run.tokenizer} and ${run.weights} disagree: the tokenizer has 3 ids, the checkpoint's ` +
    `transformer.wte.weight has ${run.vocab} rows ([${run.vocab},32]): this tokenizer is not the one the ` +
    "checkpoint was trained with";
  const viaGenerate = await assertRejects(() => loadRun(run.dir));
  assertEquals(viaGenerate.message, want);
  const viaResume = await assertRejects(() => runExperiment({ resumeDir: run.dir, noReport: true }));
  assertEquals(viaResume.message, want);
});

Deno.test("bert: the tokenizer check counts the model's special id", async () => {
  const run = await stopped("bert");
  await saveTokenizer(run.tokenizer, CharTokenizer.fromText("abc"));
  await assertRejects(
    () => loadRun(run.dir),
    `${run.tokenizer} and ${run.weights} disagree: the tokenizer has 3 ids (4 rows with the bert model's 1 ` +
      `special id), the checkpoint's transformer.wte.weight has ${run.vocab + 1} rows`,
  );
});

Deno.test("a config that disagrees with the checkpoint's shapes names both files and both shapes", async () => {
  const run = await stopped();
  const e = await assertRejects(() =>
    runExperiment({ resumeDir: run.dir, sets: ["model.n_embd=64"], noReport: true })
  );
  assertEquals(
    e.message,
    `${run.config} (with --set model.n_embd=64) and ${run.weights} disagree: tensor transformer.wte.weight is ` +
      `[${run.vocab},32] in the checkpoint, [${run.vocab},64] by the config`,
  );
  const cfg = JSON.parse(await Deno.readTextFile(run.config));
  cfg.model.n_layer = 2;
  await Deno.writeTextFile(run.config, JSON.stringify(cfg));
  await assertRejects(
    () => loadRun(run.dir),
    `${run.config} and ${run.weights} disagree: missing tensor "transformer.h.1.`,
  );
});

Deno.test("an optimizer state that disagrees with the parameters names both files and both sizes", async () => {
  const run = await stopped();
  await Deno.writeFile(
    run.optimizer,
    encodeSafetensors({ "exp_avg.transformer.wte.weight": { shape: [5], data: new Float32Array(5) } }, {
      step: "10",
    }),
  );
  const e = await assertRejects(() => runExperiment({ resumeDir: run.dir, noReport: true }));
  assertEquals(e.message.split(": AdamW.loadStateDict: ")[0], `${run.optimizer} and ${run.weights} disagree`);
  await assertRejects(
    () => runExperiment({ resumeDir: run.dir, noReport: true }),
    `"exp_avg.transformer.wte.weight" has 5 elements, expected ${run.vocab * 32}`,
    "(expected: the sizes of the parameters)",
  );
});
