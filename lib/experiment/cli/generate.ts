/**
 * `deno task generate RUN_DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--top-p P] [--greedy]
 * [--seed S] [--no-cache]`
 *
 * Prints the prompt followed by the generated text, streamed as it is produced. For a `bert` run it fills the
 * masks instead: every █ (U+2588) in the prompt is a masked position; it prints the prompt with each mask
 * replaced by the most likely character, then the top candidates (`--top-k`, default 5) of each mask.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fillMask } from "../../generate/fill_mask.ts";
import { generate } from "../../generate/generate.ts";
import { Bert } from "../../nn/models/bert.ts";
import { Rng } from "../../random.ts";
import { loadRun } from "../load.ts";
import type { CharTokenizer } from "../../data/char_tokenizer.ts";

const USAGE =
  "usage: deno task generate RUN_DIR [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] " +
  "[--top-p P] [--greedy] [--seed S] [--no-cache]";

function fail(msg: string): never {
  console.error(`generate: ${msg}`);
  Deno.exit(2);
}

function num(name: string, v: string | undefined, int: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) {
    fail(`--${name}: expected ${int ? "an integer" : "a number"}, got "${v}"`);
  }
  return n;
}

async function main(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        prompt: { type: "string", default: "\n" },
        tokens: { type: "string", default: "200" },
        temperature: { type: "string" },
        "top-k": { type: "string" },
        "top-p": { type: "string" },
        greedy: { type: "boolean", default: false },
        seed: { type: "string", default: "0" },
        "no-cache": { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`);
  }
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
    const { tokenizer, model } = await loadRun(positionals[0]);
    if (model instanceof Bert) return fillMasks(model, tokenizer, values.prompt, sampling.topK ?? 5);
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

/** The fill-the-mask mode of a bert run: █ marks the masked characters of `text`. */
function fillMasks(model: Bert, tokenizer: CharTokenizer, text: string, topK: number): void {
  const MASK = "\u2588", maskId = tokenizer.vocabSize;
  const chars = [...text];
  if (!chars.includes(MASK)) {
    fail(`a bert run fills masks: mark the characters to predict with ${MASK} in --prompt`);
  }
  if (chars.length > model.config.blockSize) {
    fail(`the prompt has ${chars.length} characters; this model reads at most ${model.config.blockSize}`);
  }
  const ids = Int32Array.from(chars, (c) => c === MASK ? maskId : tokenizer.encode(c)[0]);
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
