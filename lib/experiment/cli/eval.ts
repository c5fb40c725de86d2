/**
 * `deno task eval RUN_DIR [--split val|test|train] [--corpus NAME|PATH] [--metrics ppl,bpb,bleu,rouge]
 * [--max-chars N] [--max-tokens N] [--prompts N]`
 *
 * `--max-chars` cuts the text before tokenizing (so models with different tokenizers score the same text);
 * `--max-tokens` (default 200,000) caps the tokens scored for ppl/bpb.
 *
 * Scores a run's newest checkpoint on a text (see `lib/experiment/evaluate.ts` for what each metric means):
 * by default the run's own validation split; `--split test` its test split (`data.test_fraction`); `--corpus`
 * another corpus altogether, all of it (a named corpus such as `brown`, or a file or folder), for cross-domain
 * evaluation. The result goes into the run's `eval.json` under `<corpus>/<split>` (other entries are kept), and
 * `deno task report` shows it.
 *
 * @module
 */
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { CharTokenizer } from "../../data/char_tokenizer.ts";
import { isNamedCorpus } from "../../data/corpora.ts";
import { loadCorpus } from "../../data/corpus.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { evaluateText, type MetricName } from "../evaluate.ts";
import { loadRun } from "../load.ts";
import { type HeldLock, lockRun } from "../../io/lock.ts";
import { failer, numberFlag, parseCommandLine } from "./_shared.ts";

const USAGE = "usage: deno task eval RUN_DIR [--split val|test|train] [--corpus NAME|PATH] " +
  "[--metrics ppl,bpb,bleu,rouge] [--max-chars N] [--max-tokens N] [--prompts N]";

const fail: (msg: string, code?: number) => never = failer("eval");

function positiveInt(name: string, v: string | undefined): number | undefined {
  return numberFlag(fail, name, v, { int: true, min: 1 });
}

async function main(args: string[]): Promise<void> {
  const parsed = parseCommandLine(fail, USAGE, args, {
    split: { type: "string", default: "val" },
    corpus: { type: "string" },
    metrics: { type: "string", default: "ppl,bpb,bleu,rouge" },
    "max-tokens": { type: "string" },
    "max-chars": { type: "string" },
    prompts: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const { values, positionals } = parsed;
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) fail(`expected one run directory\n${USAGE}`);
  const split = values.split;
  if (split !== "val" && split !== "test" && split !== "train") fail(`--split: expected val, test or train`);
  const metrics = values.metrics.split(",").map((m) => m.trim()).filter((m) => m !== "");
  for (const m of metrics) {
    if (!["ppl", "bpb", "bleu", "rouge"].includes(m)) fail(`--metrics: unknown metric "${m}"`);
  }
  const runDir = positionals[0];
  const maxChars = positiveInt("max-chars", values["max-chars"]);
  const maxTokens = positiveInt("max-tokens", values["max-tokens"]);
  const prompts = positiveInt("prompts", values.prompts);
  // eval.json is written into the run: one writer at a time (a training run holds the lock too)
  let lock: HeldLock | undefined;
  try {
    lock = await lockRun(runDir, (line) => console.error(line));
    const { config, tokenizer, model, step } = await loadRun(runDir);
    let text: string, key: string;
    if (config.model.family === "t5" && config.data.task !== "corpus") {
      // a generated task: its held-out strings come from the task's own generator, not from a text
      text = "";
      key = `${config.data.task}/heldout`;
    } else if (values.corpus !== undefined) {
      const named = isNamedCorpus(values.corpus) || values.corpus === "code";
      const c = await loadCorpus({
        corpus: named ? values.corpus as "code" : "code",
        paths: named ? [] : [values.corpus],
        valFraction: 0.5,
      });
      // all of it: files joined as in training; a single file was split inside its text, so no separator
      text = c.files.length === 1 ? c.train + c.val : c.train + "\n" + c.val;
      key = `${values.corpus}/all`;
    } else {
      const d = config.data;
      const c = await loadCorpus({
        corpus: d.corpus,
        paths: d.paths,
        valFraction: d.val_fraction,
        testFraction: d.test_fraction,
      });
      text = split === "val" ? c.val : split === "test" ? c.test : c.train;
      if (text === "") {
        throw new Error(
          `${runDir}: the ${split} split is empty` + (split === "test" ? " (data.test_fraction is 0)" : ""),
        );
      }
      key = `${d.paths.length > 0 ? "paths" : d.corpus}/${split}`;
    }
    // the same text for every model: cut by characters before tokenizing (--max-tokens cuts after)
    if (maxChars !== undefined && text.length > maxChars) text = text.slice(0, maxChars);
    // a character model cannot read characters it never saw: they are left out (and counted)
    let dropped = 0;
    if (tokenizer instanceof CharTokenizer) ({ text, dropped } = tokenizer.keepKnown(text));
    const t0 = performance.now();
    const result = evaluateText(config, model, tokenizer, tokenizer.encode(text), {
      metrics: metrics as MetricName[],
      maxTokens,
      prompts,
    });
    const entry = {
      ...result,
      ...(dropped > 0 ? { dropped_chars: dropped } : {}),
      checkpoint_step: step,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      evaluated_at: new Date().toISOString(),
    };
    const path = join(runDir, "eval.json");
    const all: Record<string, unknown> = await readFile(path, "utf8").then(
      (s) => JSON.parse(s) as Record<string, unknown>,
      () => ({}),
    );
    all[key] = entry;
    await writeFileAtomic(path, JSON.stringify(all, null, 2) + "\n");
    const show = Object.entries(entry).filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(4)}`);
    console.log(`${key}: ${show.join(", ")}`);
    if (result.example) {
      console.log(`example\n  prompt:     ${JSON.stringify(result.example.prompt.slice(-120))}`);
      console.log(`  reference:  ${JSON.stringify(result.example.reference)}`);
      console.log(`  generated:  ${JSON.stringify(result.example.hypothesis)}`);
    }
    console.log(path);
  } catch (e) {
    await lock?.release();
    fail((e as Error).message);
  }
  await lock.release();
}

await main(Deno.args);
