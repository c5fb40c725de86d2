/**
 * `deno task generate RUN_DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--greedy]
 * [--seed S] [--no-cache]`
 *
 * Prints the prompt followed by the generated text, streamed as it is produced. For a `bert` run it fills the
 * masks instead: every █ (U+2588) in the prompt is a masked position; it prints the prompt with each mask
 * replaced by the most likely character, then the top candidates (`--top-k`, default 5) of each mask. For a `t5`
 * run the prompt is the source: it prints the decoded target, greedy or with `--beam N` (each █ in the prompt
 * becomes the next sentinel, for a model trained with span corruption).
 *
 * @module
 */
import { fillMask } from "../../generate/fill_mask.ts";
import { generate } from "../../generate/generate.ts";
import { Bert } from "../../nn/models/bert.ts";
import { T5 } from "../../nn/models/t5.ts";
import { beamSearch, greedyDecode } from "../../generate/seq2seq.ts";
import { sentinelId, type Seq2SeqVocab } from "../../data/seq2seq.ts";
import { t5Text, t5Vocab } from "../families.ts";
import { Rng } from "../../random.ts";
import { loadRun } from "../load.ts";
import type { Tokenizer } from "../../data/tokenizer.ts";
import { failer, numberFlag, parseCommandLine } from "./_shared.ts";

const USAGE =
  "usage: deno task generate RUN_DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] " +
  "[--top-p P] [--greedy] [--seed S] [--no-cache] [--beam N (t5)]";

const fail: (msg: string, code?: number) => never = failer("generate");

function num(name: string, v: string | undefined, int: boolean): number | undefined {
  return numberFlag(fail, name, v, { int });
}

async function main(args: string[]): Promise<void> {
  const parsed = parseCommandLine(fail, USAGE, args, {
    prompt: { type: "string", default: "\n" },
    tokens: { type: "string", default: "200" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    greedy: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
    "no-cache": { type: "boolean", default: false },
    beam: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const { values, positionals } = parsed;
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) fail(`expected one run directory\n${USAGE}`);
  const sampling = {
    greedy: values.greedy,
    temperature: num("temperature", values.temperature, false),
    topK: num("top-k", values["top-k"], true),
    topP: num("top-p", values["top-p"], false),
  };
  const tokens = num("tokens", values.tokens, true)!;
  const seed = num("seed", values.seed, true)!;
  try {
    const { tokenizer, model, config } = await loadRun(positionals[0]);
    if (model instanceof Bert) return fillMasks(model, tokenizer, values.prompt, sampling.topK ?? 5);
    if (model instanceof T5) {
      return seq2seq(model, t5Vocab(config, tokenizer.vocabSize), tokenizer, values.prompt, {
        beam: num("beam", values.beam, true) ?? 1,
        useCache: !values["no-cache"],
      });
    }
    const prompt = tokenizer.encode(values.prompt);
    const enc = new TextEncoder();
    Deno.stdout.writeSync(enc.encode(values.prompt));
    generate(model, prompt, {
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
function seq2seq(
  model: T5,
  vocab: Seq2SeqVocab,
  tokenizer: Tokenizer,
  text: string,
  o: { beam: number; useCache: boolean },
): void {
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
    ? beamSearch(model, withEos, { ...opts, beamSize: o.beam })[0].tokens
    : greedyDecode(model, withEos, 1, withEos.length, { ...opts, useCache: o.useCache })[0];
  console.log(t5Text(tokenizer, vocab, out));
}

/** The fill-the-mask mode of a bert run: each █ in `text` is one masked token. */
function fillMasks(model: Bert, tokenizer: Tokenizer, text: string, topK: number): void {
  const maskId = tokenizer.vocabSize;
  if (!text.includes(MARK)) {
    fail(`a bert run fills masks: mark the tokens to predict with ${MARK} in --prompt`);
  }
  const ids = withMarks(tokenizer, text, () => maskId);
  if (ids.length > model.config.blockSize) {
    fail(`the prompt has ${ids.length} tokens; this model reads at most ${model.config.blockSize}`);
  }
  const predictions = fillMask(model, ids, { maskId, topK });
  const filled = ids.slice();
  for (const p of predictions) filled[p.position] = p.candidates[0].id;
  console.log(tokenizer.decode(filled));
  for (const p of predictions) {
    const list = p.candidates.map((c) => `${JSON.stringify(tokenizer.decode([c.id]))} ${c.prob.toFixed(3)}`);
    console.log(`position ${p.position}: ${list.join(", ")}`);
  }
}

await main(Deno.args);
