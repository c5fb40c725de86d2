/**
 * `deno task generate`: Generates with a run's newest checkpoint: continues a prompt (gpt), fills █ masks
 * (bert) or decodes a target (t5). Its flags, defaults and examples are declared once in {@link GENERATE}
 * (`--help` prints them; docs/cli.md lists them).
 *
 * @module
 */
import { fillMaskAsync } from "../../generate/fill_mask.ts";
import { generateAsync } from "../../generate/generate.ts";
import { Bert } from "../../nn/models/bert.ts";
import { T5 } from "../../nn/models/t5.ts";
import { beamSearchAsync, greedyDecodeAsync } from "../../generate/seq2seq.ts";
import { sentinelId, type Seq2SeqVocab } from "../../data/seq2seq.ts";
import { t5Text, t5Vocab } from "../families.ts";
import { Rng } from "../../random.ts";
import { loadRun } from "../load.ts";
import type { Tokenizer } from "../../data/tokenizer.ts";
import { failer, THREADS_FLAG, useThreads } from "./_shared.ts";
import { BACKEND_FLAG, useBackend } from "./_device.ts";
import { type Command, parseOrExit } from "./_command.ts";
import { existingPath } from "./_paths.ts";

/** The declaration of `deno task generate`. */
export const GENERATE = {
  name: "generate",
  run: "deno task generate",
  description:
    "Writes text with a run's newest checkpoint: a gpt run continues the prompt, streamed as it is " +
    "produced; a bert run fills each \u2588 (U+2588) in the prompt with its most likely token and lists the " +
    "top candidates of each mask; a t5 run reads the prompt as its source and prints the decoded target " +
    "(greedy, or a beam search with --beam; each \u2588 becomes the next sentinel).",
  positionals: [{ name: "RUN_DIR", description: "the run to generate with (runs/<name>-<stamp>)" }],
  flags: {
    prompt: { type: "string", default: "\n", description: "the text to continue (bert: with \u2588 masks)" },
    tokens: { type: "integer", min: 0, default: 200, description: "tokens to generate (gpt)" },
    temperature: {
      type: "number",
      defaultText: "1",
      description: "sampling temperature: below 1 sharper, above 1 flatter",
    },
    "top-k": {
      type: "integer",
      min: 1,
      defaultText: "all tokens (bert: 5 candidates)",
      value: "K",
      description: "sample among the K most likely tokens (bert: candidates listed per mask)",
    },
    "top-p": {
      type: "number",
      defaultText: "1 (all tokens)",
      value: "P",
      description: "sample among the most likely tokens whose probabilities sum to P (nucleus sampling)",
    },
    greedy: { type: "boolean", description: "always take the most likely token (no sampling)" },
    seed: { type: "integer", min: 0, default: 0, description: "seed of the sampling" },
    "no-cache": { type: "boolean", description: "recompute every position at each step (no KV cache)" },
    beam: { type: "integer", min: 1, default: 1, description: "beam width of a t5 run's decoding" },
    backend: BACKEND_FLAG,
    threads: THREADS_FLAG,
  },
  examples: [
    'deno task generate runs/tiny-20260101-120000 --prompt "function " --tokens 100',
    'deno task generate runs/tiny-20260101-120000 --prompt "let x" --top-k 5 --temperature 0.8',
    'deno task generate runs/tiny-20260101-120000 --prompt "let x" --backend webgpu',
  ],
} as const satisfies Command;

const fail: (msg: string, code?: number) => never = failer("generate");

async function main(args: string[]): Promise<void> {
  const { values, positionals, typed } = parseOrExit(GENERATE, args);
  const { temperature, "top-p": topP } = values;
  if (temperature !== undefined && !(temperature > 0)) {
    fail(
      `${
        typed("temperature")
      }: expected a number > 0, got ${temperature} (--greedy takes the most likely token)`,
    );
  }
  if (topP !== undefined && !(topP > 0 && topP <= 1)) {
    fail(`${typed("top-p")}: expected a number in (0, 1], got ${topP}`);
  }
  const sampling = {
    greedy: values.greedy,
    temperature,
    topK: values["top-k"],
    topP,
  };
  const tokens = values.tokens;
  const seed = values.seed;
  await useThreads(values.threads);
  try {
    const { tokenizer, model, config } = await loadRun(existingPath(positionals[0], fail));
    const where = await useBackend(values.backend, config.run.backend, model);
    if (where !== null) console.error(where);
    if (model instanceof Bert) return await fillMasks(model, tokenizer, values.prompt, sampling.topK ?? 5);
    if (model instanceof T5) {
      return await seq2seq(model, t5Vocab(config, tokenizer.vocabSize), tokenizer, values.prompt, {
        beam: values.beam,
        useCache: !values["no-cache"],
      });
    }
    const prompt = tokenizer.encode(values.prompt);
    const enc = new TextEncoder();
    Deno.stdout.writeSync(enc.encode(values.prompt));
    await generateAsync(model, prompt, {
      maxNewTokens: tokens,
      sampling,
      rng: new Rng(seed),
      useCache: !values["no-cache"],
      onToken: (id) => Deno.stdout.writeSync(enc.encode(tokenizer.decode([id]))),
    });
    Deno.stdout.writeSync(enc.encode("\n"));
  } catch (e) {
    fail((e as Error).message);
  }
}

const MARK = "\u2588";

/** `text` as ids, each █ replaced by `mark(i)` for the i-th mark (the text between marks is encoded as is). */
function withMarks(tokenizer: Tokenizer, text: string, mark: (i: number) => number): Int32Array {
  const ids: number[] = [];
  text.split(MARK).forEach((part, i) => {
    if (i > 0) ids.push(mark(i - 1));
    if (part !== "") ids.push(...tokenizer.encode(part));
  });
  return Int32Array.from(ids);
}

/** The seq2seq mode of a t5 run: `text` is the source, █ marks sentinels. */
async function seq2seq(
  model: T5,
  vocab: Seq2SeqVocab,
  tokenizer: Tokenizer,
  text: string,
  o: { beam: number; useCache: boolean },
): Promise<void> {
  const src = withMarks(tokenizer, text, (i) => {
    if (i >= vocab.numSentinels) {
      fail(`at most ${vocab.numSentinels} ${MARK} marks: the model has that many sentinels`);
    }
    return sentinelId(vocab, i);
  });
  const withEos = Int32Array.from([...src, vocab.eos]);
  if (withEos.length > model.config.blockSize) {
    fail(`the prompt has ${src.length} tokens; this model reads at most ${model.config.blockSize - 1}`);
  }
  const opts = { maxLen: model.config.blockSize, bosId: vocab.bos, eosId: vocab.eos };
  const out = o.beam > 1
    ? (await beamSearchAsync(model, withEos, { ...opts, beamSize: o.beam }))[0].tokens
    : (await greedyDecodeAsync(model, withEos, 1, withEos.length, { ...opts, useCache: o.useCache }))[0];
  console.log(t5Text(tokenizer, vocab, out));
}

/** The fill-the-mask mode of a bert run: each █ in `text` is one masked token. */
async function fillMasks(model: Bert, tokenizer: Tokenizer, text: string, topK: number): Promise<void> {
  const maskId = tokenizer.vocabSize;
  if (!text.includes(MARK)) {
    fail(`a bert run fills masks: mark the tokens to predict with ${MARK} in --prompt`);
  }
  const ids = withMarks(tokenizer, text, () => maskId);
  if (ids.length > model.config.blockSize) {
    fail(`the prompt has ${ids.length} tokens; this model reads at most ${model.config.blockSize}`);
  }
  const predictions = await fillMaskAsync(model, ids, { maskId, topK });
  const filled = ids.slice();
  for (const p of predictions) filled[p.position] = p.candidates[0].id;
  console.log(tokenizer.decode(filled));
  for (const p of predictions) {
    const list = p.candidates.map((c) => `${JSON.stringify(tokenizer.decode([c.id]))} ${c.prob.toFixed(3)}`);
    console.log(`position ${p.position}: ${list.join(", ")}`);
  }
}

if (import.meta.main) await main(Deno.args);
