/**
 * Step 1 of "Build your own GPT": a bigram model, and the loop every later step reuses.
 *
 * Text becomes token ids; a model turns ids into logits (one score per possible next token); the
 * cross-entropy loss says how surprised the model was by the true next token; AdamW nudges the weights to
 * lower it. The model here is the smallest that works: a table with one row per character, holding the scores
 * of the character that comes next. The later steps keep the data, the loss and the loop; only the model
 * changes.
 *
 * Run: `deno run docs/build-your-own-gpt/01-bigram.ts`
 *
 * @module
 */
import {
  AdamW,
  CharTokenizer,
  crossEntropy,
  Embedding,
  type NamedTensor,
  noGrad,
  Rng,
  type Tensor,
} from "../../mod.ts";
import { TEXT } from "./text.ts";

/** The text as token ids, with the tokenizer that made them (one id per distinct character, sorted). */
export function loadText(): { tokenizer: CharTokenizer; ids: Int32Array } {
  const tokenizer = CharTokenizer.fromText(TEXT);
  return { tokenizer, ids: tokenizer.encode(TEXT) };
}

/** B windows of T token ids (x) and the id that follows each of them (y); both flat, B·T long, row-major. */
export interface Batch {
  /** Inputs, (B, T). */
  x: Int32Array;
  /** Targets: y[b, t] is the token after x[b, t]. */
  y: Int32Array;
  /** Rows. */
  B: number;
  /** Positions per row. */
  T: number;
}

/** Cuts B random windows of T + 1 tokens out of `ids`: x is each window's first T tokens, y its last T. */
export function getBatch(ids: Int32Array, B: number, T: number, rng: Rng): Batch {
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(ids.length - T);
    x.set(ids.subarray(start, start + T), b * T);
    y.set(ids.subarray(start + 1, start + T + 1), b * T); // shifted by one: the "next token" of each x
  }
  return { x, y, B, T };
}

/** What the loops need from a model: a batch in, the mean cross-entropy (a one-element tensor) out. */
export type LossFn = (batch: Batch) => Tensor;

/** Mean loss over `n` batches drawn with a fixed seed (every call sees the same ones), with the tape off. */
export function estimateLoss(lossFn: LossFn, ids: Int32Array, B: number, T: number, n = 8): number {
  const rng = new Rng(1234);
  let total = 0;
  for (let i = 0; i < n; i++) total += noGrad(() => lossFn(getBatch(ids, B, T, rng)).item());
  return total / n;
}

/** All of training, `steps` times: a batch (B × T, drawn by `rng`) → loss → backward → AdamW step. */
export function trainLoop(
  lossFn: LossFn,
  params: NamedTensor[],
  ids: Int32Array,
  o: { steps: number; B: number; T: number; lr: number; rng: Rng },
): void {
  const opt = new AdamW(params, { lr: o.lr });
  for (let step = 0; step < o.steps; step++) {
    const loss = lossFn(getBatch(ids, o.B, o.T, o.rng));
    loss.backward(); // fills .grad of every parameter the loss depends on
    opt.step(); // moves each parameter a little against its gradient
    opt.zeroGrad(); // gradients add up across backward passes: clear them for the next batch
  }
}

/** The bigram model: row i of a (V, V) table holds the logits of the token that follows token i. */
export class Bigram {
  /** The (V, V) table (an Embedding is exactly "look up row i"). */
  readonly table: Embedding;

  /** A table initialised with small random numbers, so every next token starts out about equally likely. */
  constructor(vocabSize: number, rng: Rng) {
    this.table = new Embedding(vocabSize, vocabSize, { rng });
  }

  /** Logits (B, T, V): for every position, the table row of the token at that position. */
  logits(x: Int32Array, B: number, T: number): Tensor {
    return this.table.forward(x, [B, T]);
  }
}

/** Draws i with probability softmax(logits)[i]: one uniform number walked through the cumulative sum. */
export function drawFromLogits(logits: ArrayLike<number>, rng: Rng): number {
  const max = Math.max(...Array.from(logits));
  const p = Array.from(logits, (l) => Math.exp(l - max)); // softmax, before dividing by the total
  let u = rng.next() * p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) if ((u -= p[i]) < 0) return i;
  return p.length - 1;
}

/** The losses a step measured, and the uniform guess to compare them with. */
export interface LossResult {
  /** ln(V): the loss of a model that gives every one of the V tokens the same probability. */
  uniformLoss: number;
  /** Loss before training. */
  lossBefore: number;
  /** Loss after training. */
  lossAfter: number;
}

/** The options every step's `main` takes. */
export interface StepOptions {
  /** Training steps. */
  steps?: number;
  /** Seed of the weights and batches. */
  seed?: number;
  /** Where the printed lines go (default: the console). */
  log?: (line: string) => void;
}

/** What {@link main} measured: the losses, the vocabulary size and a sample. */
export interface BigramResult extends LossResult {
  /** Distinct characters. */
  vocabSize: number;
  /** Text sampled from the trained model. */
  sample: string;
}

/** Trains the bigram model on the text and samples from it. */
export function main(opts: StepOptions = {}): BigramResult {
  const { steps = 500, seed = 1, log = (l: string) => console.log(l) } = opts;
  const { tokenizer, ids } = loadText();
  const V = tokenizer.vocabSize, rng = new Rng(seed), model = new Bigram(V, rng);
  const lossFn: LossFn = (b) => crossEntropy(model.logits(b.x, b.B, b.T), b.y);
  const lossBefore = estimateLoss(lossFn, ids, 32, 8);
  trainLoop(lossFn, model.table.namedParameters(), ids, { steps, B: 32, T: 8, lr: 0.1, rng });
  const lossAfter = estimateLoss(lossFn, ids, 32, 8);
  const out = Array.from(tokenizer.encode("T")); // generation: look up the last token's row, draw, append
  for (let i = 0; i < 60; i++) {
    const logits = noGrad(() => model.logits(Int32Array.of(out[out.length - 1]), 1, 1));
    out.push(drawFromLogits(logits.data, rng));
  }
  const sample = tokenizer.decode(out), uniformLoss = Math.log(V);
  log(`vocabulary: ${V} characters; text: ${ids.length} tokens`);
  log(`loss before training: ${lossBefore.toFixed(3)} (uniform guess: ln ${V} = ${uniformLoss.toFixed(3)})`);
  log(`loss after ${steps} steps: ${lossAfter.toFixed(3)}`);
  log(`sample: ${JSON.stringify(sample)}`);
  return { vocabSize: V, uniformLoss, lossBefore, lossAfter, sample };
}

if (import.meta.main) main();
