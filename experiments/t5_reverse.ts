/**
 * Research script: a small T5 learns a generated seq2seq task (reverse, or sort, a random string of letters).
 *
 * Trains `configs/families/t5_reverse.jsonc` through the experiment runner (any `--set` overrides apply), then
 * loads the finished run and scores greedy and beam-search decoding on freshly generated held-out strings, from a
 * generator neither the training batches nor the run's validation batches use: exact match is the share of
 * strings whose whole output is right.
 *
 *   deno run --allow-read --allow-write=runs --allow-env experiments/t5_reverse.ts [--eval 500] [--beam 4] \
 *     [--set train.max_steps=800] [--set data.task=sort] …
 *
 * @module
 */
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";
import {
  collateSeq2Seq,
  symbolTaskExamples,
  type SymbolTaskOptions,
  symbolTaskShape,
} from "../lib/data/seq2seq.ts";
import { t5Vocab } from "../lib/experiment/families.ts";
import { beamSearch, greedyDecode } from "../lib/generate/seq2seq.ts";
import { T5 } from "../lib/nn/models/t5.ts";
import { loadConfig, loadRun, Rng, runExperiment } from "../mod.ts";

/** The declaration of `experiments/t5_reverse.ts`. */
export const T5_REVERSE = {
  name: "t5_reverse",
  run: "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname experiments/t5_reverse.ts",
  description: "A small T5 learns a generated seq2seq task (reverse, or sort, a random string of letters): " +
    "trains configs/families/t5_reverse.jsonc through the experiment runner (--set overrides apply), " +
    "then scores greedy and beam-search decoding on freshly generated held-out strings (exact match: " +
    "the share of strings whose whole output is right).",
  positionals: [],
  flags: {
    eval: { type: "integer", min: 1, default: 500, description: "held-out strings scored" },
    beam: { type: "integer", min: 1, default: 4, description: "beam width of the beam-search decoding" },
    set: { type: "string", multiple: true, value: "KEY=VALUE", description: "override a config key" },
  },
  examples: [
    "deno run --allow-read --allow-write=runs --allow-env --allow-sys=hostname " +
    "experiments/t5_reverse.ts --eval 200 --set train.max_steps=800 --set data.task=sort",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(T5_REVERSE, async ({ values }) => {
    const nEval = values.eval, beamSize = values.beam;

    const { config } = loadConfig({ path: "configs/families/t5_reverse.jsonc", sets: values.set });
    if (config.model.family !== "t5" || config.data.task === "corpus") {
      console.error(
        "t5_reverse: the config must be a t5 run on a generated task (data.task reverse or sort)",
      );
      Deno.exit(2);
    }
    const t0 = performance.now();
    const r = await runExperiment({
      config,
      info: (l) => console.log(l),
    });
    const trainS = (performance.now() - t0) / 1000;

    const { model, tokenizer } = await loadRun(r.runDir);
    if (!(model instanceof T5)) throw new Error("the run did not produce a T5");
    const d = config.data;
    const task: SymbolTaskOptions = {
      task: d.task as "reverse" | "sort",
      numSymbols: d.task_symbols,
      minLen: d.task_min_len,
      maxLen: d.task_max_len,
    };
    const vocab = t5Vocab(config, tokenizer.vocabSize), { Ts, Tt } = symbolTaskShape(task);
    const held = symbolTaskExamples(nEval, new Rng(config.train.seed + 1_000_003), task);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

    const t1 = performance.now();
    let greedyHits = 0;
    for (let i = 0; i < held.length; i += 100) {
      const chunk = held.slice(i, i + 100), b = collateSeq2Seq(chunk, vocab, Ts, Tt);
      const out = greedyDecode(model, b.src, b.B, Ts, {
        maxLen: Tt,
        bosId: vocab.bos,
        eosId: vocab.eos,
        srcLengths: b.srcLengths,
      });
      chunk.forEach((p, j) => greedyHits += same(out[j], p.tgt) ? 1 : 0);
    }
    const greedyS = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    let beamHits = 0;
    for (const p of held) {
      const src = Int32Array.from([...p.src, vocab.eos]);
      const best = beamSearch(model, src, { beamSize, maxLen: Tt, bosId: vocab.bos, eosId: vocab.eos })[0];
      if (same(best.tokens, p.tgt)) beamHits++;
    }
    const beamS = (performance.now() - t2) / 1000;
    const pct = (n: number) => `${(100 * n / held.length).toFixed(1)}%`;
    console.log(
      [
        `\n${config.train.max_steps} steps (${
          trainS.toFixed(0)
        } s, run ${r.runDir}), ${model.numParameters()} parameters;`,
        `held-out: ${held.length} ${task.task} strings of ${task.minLen}–${task.maxLen} letters from ${task.numSymbols}`,
        "",
        "| decoding | exact match | time |",
        "| --- | ---: | ---: |",
        `| greedy | ${pct(greedyHits)} | ${greedyS.toFixed(1)} s |`,
        `| beam ${beamSize} | ${pct(beamHits)} | ${beamS.toFixed(1)} s |`,
      ].join("\n"),
    );
  });
}
