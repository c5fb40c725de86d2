/**
 * `deno task eval`: Scores a run's newest checkpoint on a text (see `lib/experiment/evaluate.ts` for what
 * each metric means) and writes the result into the run's `eval.json`. Its flags, defaults and examples are
 * declared once in {@link EVAL} (`--help` prints them; docs/cli.md lists them).
 *
 * @module
 */
import { corpusOptions } from "../families.ts";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { CharTokenizer } from "../../data/char_tokenizer.ts";
import { isNamedCorpus } from "../../data/corpora.ts";
import { loadCorpus, scanCorpus, splitText } from "../../data/corpus.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { type EvalProgress, evaluateText, type MetricName } from "../evaluate.ts";
import { writeReport } from "../../report/report.ts";
import { loadRun } from "../load.ts";
import { type HeldLock, lockRun } from "../../io/lock.ts";
import { failer, THREADS_FLAG, useThreads } from "./_shared.ts";
import { BACKEND_FLAG, useBackend } from "./_device.ts";
import { type Command, parseOrExit } from "./_command.ts";
import { checkWritable, existingPath, onlyUnderRuns } from "./_paths.ts";

/** The declaration of `deno task eval`. */
export const EVAL = {
  name: "eval",
  run: "deno task eval",
  description:
    "Scores a run's newest checkpoint on a text: by default the run's own validation split, with " +
    "--split its test or train split, with --corpus another corpus altogether (all of it), for cross-domain " +
    "evaluation. Metrics by family: perplexity and bits per byte, BLEU and ROUGE of greedy continuations (gpt), " +
    "masked accuracy (bert), exact match (t5). The result goes into the run's eval.json under " +
    "<corpus>/<split> (other entries are kept) and the run's report.html is refreshed to show it.",
  positionals: [{ name: "RUN_DIR", description: "the run to score (runs/<name>-<stamp>)" }],
  flags: {
    split: {
      type: "string",
      choices: ["val", "test", "train"],
      default: "val",
      value: "SPLIT",
      description: "which split of the run's own corpus",
    },
    corpus: {
      type: "string",
      value: "NAME|PATH",
      defaultText: "the run's own corpus",
      description: "score another corpus instead: a named one (brown, sotu, kjv, code) or a file or folder",
    },
    metrics: {
      type: "string",
      default: "ppl,bpb,bleu,rouge",
      value: "LIST",
      description: "comma list of ppl, bpb, bleu, rouge",
    },
    "max-chars": {
      type: "integer",
      min: 1,
      defaultText: "all",
      description: "cut the text to N characters before tokenizing (the same text for every tokenizer)",
    },
    "max-tokens": {
      type: "integer",
      min: 1,
      default: 200_000,
      description: "score at most N tokens for ppl/bpb",
    },
    prompts: { type: "integer", min: 1, default: 40, description: "continuations compared for BLEU/ROUGE" },
    backend: BACKEND_FLAG,
    threads: THREADS_FLAG,
  },
  examples: [
    "deno task eval runs/tiny-20260101-120000",
    "deno task eval runs/tiny-20260101-120000 --corpus lib/data --metrics ppl,bpb",
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("eval");

/**
 * Evaluation progress on stdout: one redrawn line on a terminal; otherwise a line at the start and the end of
 * each phase and at most every `every` seconds between.
 */
function progressLines(tty: boolean, every = 5): { update: (p: EvalProgress) => void; done: () => void } {
  const enc = new TextEncoder();
  let last = -Infinity, drawn = false;
  return {
    update(p) {
      const line = `eval: ${p.phase} ${p.done}/${p.total} ${p.unit}`;
      const now = performance.now() / 1000;
      if (tty) {
        Deno.stdout.writeSync(enc.encode(`\r${line}\x1b[K`));
        drawn = true;
      } else if (p.done === 0 || p.done === p.total || now - last >= every) {
        last = now;
        console.log(line);
      }
    },
    done() {
      if (drawn) Deno.stdout.writeSync(enc.encode("\r\x1b[K"));
      drawn = false;
    },
  };
}

async function main(args: string[]): Promise<void> {
  const { values, positionals, typed } = parseOrExit(EVAL, args);
  const split = values.split;
  const metrics = values.metrics.split(",").map((m) => m.trim()).filter((m) => m !== "");
  for (const m of metrics) {
    if (!["ppl", "bpb", "bleu", "rouge"].includes(m)) {
      fail(`${typed("metrics")}: unknown metric "${m}" (expected ppl, bpb, bleu or rouge)`);
    }
  }
  const runDir = existingPath(positionals[0], fail);
  const evalPath = join(runDir, "eval.json");
  const permissions = "--allow-env --allow-sys=hostname";
  checkWritable(
    evalPath,
    evalPath,
    fail,
    onlyUnderRuns("eval", permissions, runDir, "evaluate a run there", args),
  );
  const maxChars = values["max-chars"];
  const maxTokens = values["max-tokens"];
  const prompts = values.prompts;
  await useThreads(values.threads);
  // eval.json is written into the run: one writer at a time (a training run holds the lock too)
  let lock: HeldLock | undefined;
  try {
    lock = await lockRun(runDir, (line) => console.error(line));
    const { config, tokenizer, model, step } = await loadRun(runDir);
    const where = await useBackend(values.backend, config.run.backend, model);
    if (where !== null) console.log(where);
    let text: string, key: string;
    if (config.model.family === "t5" && config.data.task !== "corpus") {
      // a generated task: its held-out strings come from the task's own generator, not from a text
      text = "";
      key = `${config.data.task}/heldout`;
    } else if (values.corpus !== undefined) {
      const named = isNamedCorpus(values.corpus) || values.corpus === "code";
      const c = await loadCorpus({
        corpus: named ? values.corpus as "code" : "code",
        paths: named ? [] : [existingPath(values.corpus, fail)],
        valFraction: 0.5,
      });
      // all of it: files joined as in training; a single file was split inside its text, so no separator
      text = c.files.length === 1 ? c.train + c.val : c.train + "\n" + c.val;
      key = `${values.corpus}/all`;
    } else {
      const d = config.data;
      // only the split asked for is read into memory
      const c = await scanCorpus(corpusOptions(config));
      text = await splitText(c, split);
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
    const progress = progressLines(Deno.stdout.isTerminal());
    const result = await evaluateText(config, model, tokenizer, tokenizer.encode(text), {
      metrics: metrics as MetricName[],
      maxTokens,
      prompts,
      onProgress: progress.update,
    });
    progress.done();
    const entry = {
      ...result,
      ...(dropped > 0 ? { dropped_chars: dropped } : {}),
      checkpoint_step: step,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
      evaluated_at: new Date().toISOString(),
    };
    const all: Record<string, unknown> = await readFile(evalPath, "utf8").then(
      (s) => JSON.parse(s) as Record<string, unknown>,
      () => ({}),
    );
    all[key] = entry;
    await writeFileAtomic(evalPath, JSON.stringify(all, null, 2) + "\n");
    const show = Object.entries(entry).filter(([, v]) => typeof v === "number")
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : (v as number).toFixed(4)}`);
    console.log(`${key}: ${show.join(", ")}`);
    if (result.example) {
      console.log(`example\n  prompt:     ${JSON.stringify(result.example.prompt.slice(-120))}`);
      console.log(`  reference:  ${JSON.stringify(result.example.reference)}`);
      console.log(`  generated:  ${JSON.stringify(result.example.hypothesis)}`);
    }
    console.log(evalPath);
    // the run's report shows eval.json: refresh it
    const reportPath = join(runDir, "report.html");
    await writeReport([runDir], reportPath);
    console.log(`report ${reportPath}`);
  } catch (e) {
    await lock?.release();
    fail((e as Error).message);
  }
  await lock.release();
}

if (import.meta.main) await main(Deno.args);
