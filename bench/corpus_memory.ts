/**
 * Peak memory of training as the corpus grows, and tokenisation throughput.
 *
 *   deno run -A bench/corpus_memory.ts [--cases py,py8,synthetic] [--steps 5] [--synthetic-mb 1100]
 *
 * Each case is one short training run of the quickstart model (`--steps` steps, evaluation and a checkpoint at
 * the end, tokenisation into a fresh token cache included) in a child process of its own, which reports its
 * peak RSS (the same probe as `train_throughput.ts`):
 * - `py`: the Python standard library's `.py` files (`--python`, copied under a temporary folder), ~12 MB;
 * - `py8`: those files eight times over (hard links in eight folders), ~95 MB;
 * - `synthetic`: `--synthetic-mb` MB of generated code-like text in files of 1 MiB (deterministic), ≥ 1 GB.
 * Then `--throughput` times tokenising the `py` corpus into shards with the char tokenizer and with BPE
 * (`--bpe-vocab` ids, trained first), in MB of text per second.
 *
 * One JSON line per case and per tokenizer; the temporary folder is removed at the end.
 *
 * @module
 */
import { cp, link, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { loadConfig } from "../lib/experiment/config.ts";
import { runExperiment } from "../lib/experiment/runner.ts";
import { familyTokenizer } from "../lib/experiment/families.ts";
import { scanCorpus } from "../lib/data/corpus.ts";
import { tokenizeCached } from "../lib/data/token_cache.ts";
import { Rng } from "../lib/random.ts";
import { PeakRss, round } from "./_common.ts";

const CASES = ["py", "py8", "synthetic"] as const;

/** The declaration of `bench/corpus_memory.ts`. */
export const CORPUS_MEMORY = {
  name: "corpus_memory",
  run: "deno run -A bench/corpus_memory.ts",
  description:
    "Peak RSS of a short training run (the quickstart model, tokenisation included) per corpus, each in a child process: the Python standard library's .py files (~12 MB), the same eight times (~95 MB), a generated corpus of --synthetic-mb MB; then tokenisation throughput (MB/s) of the char and BPE tokenizers on the first. One JSON line each.",
  positionals: [],
  flags: {
    cases: {
      type: "string",
      default: "py,py8",
      value: "LIST",
      description: "corpora, a comma list of py, py8, synthetic",
    },
    steps: { type: "integer", min: 1, default: 5, description: "training steps per case" },
    "synthetic-mb": {
      type: "integer",
      min: 1,
      default: 1100,
      description: "size of the synthetic corpus in MB",
    },
    python: {
      type: "string",
      default: "/usr/lib/python3.11",
      value: "DIR",
      description: "the Python standard library folder",
    },
    throughput: {
      type: "string",
      choices: ["true", "false"],
      default: "true",
      value: "BOOL",
      description: "time char and BPE tokenisation of the py corpus",
    },
    "bpe-vocab": {
      type: "integer",
      min: 257,
      default: 512,
      description: "BPE vocabulary of the throughput run",
    },
    child: {
      type: "string",
      default: "",
      value: "DIR",
      description: "train on DIR in this process and print its peak RSS (what the bench runs per case)",
    },
  },
  examples: [
    "deno run -A bench/corpus_memory.ts --cases py,py8 --steps 5",
    "deno run -A bench/corpus_memory.ts --cases synthetic --synthetic-mb 1100 --throughput false",
  ],
} as const satisfies Command;

/** The quickstart config on `paths`, `steps` steps, writing under `out`. */
function benchConfig(paths: string[], out: string, steps: number, extra: string[] = []) {
  return loadConfig({
    path: "configs/quickstart.jsonc",
    sets: [
      `data.paths=${JSON.stringify(paths)}`,
      `run.out_dir=${out}`,
      `train.max_steps=${steps}`,
      `train.eval_interval=${steps}`,
      `train.checkpoint_interval=${steps}`,
      "train.sample_tokens=0",
      ...extra,
    ],
  }).config;
}

/** Copies the `.py` files under `from` to `to` (keeping their relative paths); returns their bytes. */
async function copyPython(from: string, to: string): Promise<number> {
  let bytes = 0;
  for (const e of await readdir(from, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(".py")) continue;
    const src = join(e.parentPath, e.name), dst = join(to, relative(from, src));
    await mkdir(dirname(dst), { recursive: true });
    await cp(src, dst);
    bytes += (await Deno.stat(dst)).size;
  }
  return bytes;
}

/** Eight hard-linked copies of the files under `from` in `to/copy0` … `to/copy7`. */
async function linkEight(from: string, to: string): Promise<void> {
  const files = (await readdir(from, { withFileTypes: true, recursive: true })).filter((e) => e.isFile());
  for (let k = 0; k < 8; k++) {
    for (const e of files) {
      const src = join(e.parentPath, e.name), dst = join(to, `copy${k}`, relative(from, src));
      await mkdir(dirname(dst), { recursive: true });
      await link(src, dst);
    }
  }
}

const WORDS = [
  "value",
  "count",
  "index",
  "node",
  "result",
  "items",
  "name",
  "key",
  "size",
  "left",
  "right",
  "buffer",
  "offset",
  "length",
  "parent",
  "child",
  "token",
  "state",
  "config",
  "handler",
  "request",
  "response",
  "error",
  "data",
];

/** `mb` MB of generated code-like text in files of 1 MiB under `dir` (the same text for the same size). */
async function writeSynthetic(dir: string, mb: number): Promise<void> {
  const rng = new Rng(20261207), w = () => WORDS[rng.int(WORDS.length)];
  const fileBytes = 2 ** 20, files = Math.ceil((mb * 1e6) / fileBytes);
  for (let f = 0; f < files; f++) {
    const lines: string[] = [];
    let n = 0;
    while (n < fileBytes) {
      const line = `  const ${w()}_${rng.int(1000)} = ${w()}.${w()}(${w()}, ${
        rng.int(100000)
      }); // ${w()} ${w()}\n`;
      lines.push(line);
      n += line.length;
    }
    const sub = join(dir, String(Math.floor(f / 100)).padStart(3, "0"));
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${String(f).padStart(5, "0")}.ts`), lines.join(""));
  }
}

/** One case in this process: train on `dir`, print the peak RSS. */
async function child(dir: string, steps: number): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: "lcm-corpus-memory-runs-" });
  const rss = new PeakRss();
  try {
    const lines: string[] = [];
    const t0 = performance.now();
    const r = await runExperiment({
      config: benchConfig([dir], out, steps),
      noReport: true,
      info: (l) => lines.push(l),
      progress: () => rss.sample(),
    });
    const peak = rss.read();
    const manifest = JSON.parse(await Deno.readTextFile(join(r.runDir, "manifest.json")));
    console.log(JSON.stringify({
      steps: r.step,
      train_tokens: manifest.train_tokens,
      val_tokens: manifest.val_tokens,
      seconds: round((performance.now() - t0) / 1000, 1),
      peak_rss_mb: round(peak.mb, 1),
      rss_source: peak.source,
      tokenized: lines.filter((l) => l.startsWith("tokenizing") && / s$/.test(l)),
    }));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Tokenising `dir` into fresh shards with the char and BPE tokenizers; MB/s of each. */
async function throughput(dir: string, bytes: number, bpeVocab: number): Promise<void> {
  for (const tokenizer of ["char", "bpe"] as const) {
    const out = await Deno.makeTempDir({ prefix: "lcm-corpus-memory-tok-" });
    try {
      const config = benchConfig([dir], out, 1, [
        `data.tokenizer=${tokenizer}`,
        `data.vocab_size=${bpeVocab}`,
      ]);
      const corpus = await scanCorpus({
        corpus: "code",
        paths: [dir],
        valFraction: config.data.val_fraction,
      });
      let t0 = performance.now();
      const tok = await familyTokenizer(config, corpus);
      const buildS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const shards = await tokenizeCached(join(out, "tokens"), corpus, tok);
      const encodeS = (performance.now() - t0) / 1000;
      const tokens = shards.train.length + shards.val.length;
      shards.close();
      console.log(JSON.stringify({
        tokenizer,
        vocab: tok.vocabSize,
        mb: round(bytes / 1e6, 1),
        tokens,
        [tokenizer === "bpe" ? "train_s" : "vocab_s"]: round(buildS, 2),
        encode_s: round(encodeS, 2),
        encode_mb_per_s: round(bytes / 1e6 / encodeS, 2),
      }));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
}

if (import.meta.main) {
  await runMain(CORPUS_MEMORY, async ({ values, typed }) => {
    if (values.child !== "") return await child(values.child, values.steps);
    const cases = values.cases.split(",");
    const bad = cases.find((c) => !(CASES as readonly string[]).includes(c));
    if (bad !== undefined) {
      throw new UsageError(`${typed("cases")}: expected a comma list of ${CASES.join(", ")}, got "${bad}"`);
    }
    const tmp = await Deno.makeTempDir({ prefix: "lcm-corpus-memory-" });
    try {
      const py = join(tmp, "py");
      const pyBytes = await copyPython(values.python, py);
      if (pyBytes === 0) throw new UsageError(`${typed("python")}: no .py files under ${values.python}`);
      for (const c of cases) {
        const dir = c === "py" ? py : join(tmp, c);
        if (c === "py8") await linkEight(py, dir);
        if (c === "synthetic") await writeSynthetic(dir, values["synthetic-mb"]);
        const mb = c === "py" ? pyBytes / 1e6 : c === "py8" ? (8 * pyBytes) / 1e6 : values["synthetic-mb"];
        const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ")[0];
        const res = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", import.meta.filename!, "--child", dir, "--steps", String(values.steps)],
          stdout: "piped",
          stderr: "inherit",
        }).output();
        const line = new TextDecoder().decode(res.stdout).trim().split("\n").at(-1) ?? "";
        if (!res.success) throw new Error(`case ${c}: the child process failed (exit ${res.code})`);
        console.log(JSON.stringify({ case: c, mb: round(mb, 1), load_avg: load, ...JSON.parse(line) }));
        if (c !== "py") await rm(dir, { recursive: true, force: true });
      }
      if (values.throughput === "true") await throughput(py, pyBytes, values["bpe-vocab"]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
}
