/**
 * Step 5 of "Build your own GPT": training the library's GPT properly.
 *
 * What changes from the loop of step 1: the text is split into a training part and a held-out validation part
 * (the last 10%), so we can see whether the model learns the language or just memorises the text; the
 * learning rate warms up and then follows a cosine down to a tenth of its peak; the gradient is clipped to
 * norm 1 so one unlucky batch cannot throw the weights far; AdamW decays the matrices (not the embeddings,
 * biases or norms) towards zero; and the loss is measured on both parts every `evalEvery` steps.
 * (`train` in lib/train/trainer.ts is this loop with checkpoints, logging and mixed precision added.)
 *
 * Run: `deno run docs/build-your-own-gpt/05-training.ts`
 *
 * @module
 */
import {
  AdamW,
  type CharTokenizer,
  clipGradNorm,
  cosineWithWarmup,
  createGPT,
  type GPT,
  Rng,
  uniqueParams,
} from "../../mod.ts";
import { type Batch, estimateLoss, getBatch, loadText, type LossFn } from "./01-bigram.ts";

/** Options of {@link trainGPT}. */
export interface TrainOptions {
  /** Optimizer steps (default 400). */
  steps?: number;
  /** Measure the losses every this many steps (default 100). */
  evalEvery?: number;
  /** Seed of the weights and the batches (default 1). */
  seed?: number;
  /** Receives progress lines (default: none). */
  log?: (line: string) => void;
}

/** Train and validation loss at one step. */
export interface LossPoint {
  /** Steps taken. */
  step: number;
  /** Loss on the training part. */
  train: number;
  /** Loss on the held-out part. */
  val: number;
}

/** A trained model, its tokenizer and the losses along the way. */
export interface Trained {
  /** The model. */
  model: GPT;
  /** Its tokenizer. */
  tokenizer: CharTokenizer;
  /** ln(V). */
  uniformLoss: number;
  /** Losses at step 0, every `evalEvery` steps and at the end. */
  history: LossPoint[];
}

/** Trains a 2-block GPT on the first 90% of the text and measures on the last 10%. */
export function trainGPT(opts: TrainOptions = {}): Trained {
  const { steps = 400, evalEvery = 100, seed = 1, log = () => {} } = opts;
  const { tokenizer, ids } = loadText();
  const split = Math.floor(ids.length * 0.9);
  const trainIds = ids.subarray(0, split), valIds = ids.subarray(split);
  const B = 16, T = 32, lr = 1e-2;
  const model = createGPT({
    vocabSize: tokenizer.vocabSize,
    blockSize: T,
    nLayer: 2,
    nHead: 4,
    nEmbd: 32,
    dropout: 0,
    bias: true,
    tieWeights: true, // lm_head shares wte's matrix: the same table reads tokens in and writes them out
  }, seed);
  const params = uniqueParams(model.namedParameters()); // the tied matrix once
  const opt = new AdamW(params, { lr, beta2: 0.95, weightDecay: 0.1 }); // nanoGPT's settings
  const schedule = cosineWithWarmup({ lr, minLr: lr / 10, warmupSteps: 20, decaySteps: steps });
  const lossFn: LossFn = (b: Batch) => model.forward(b.x, b.B, b.T, { targets: b.y }).loss!;
  const history: LossPoint[] = [];
  const measure = (step: number) => {
    model.eval(); // no dropout while measuring (none here, but it is the habit)
    const point = {
      step,
      train: estimateLoss(lossFn, trainIds, B, T),
      val: estimateLoss(lossFn, valIds, 4, T),
    };
    model.train();
    history.push(point);
    log(`step ${String(step).padStart(4)}: train ${point.train.toFixed(3)}, val ${point.val.toFixed(3)}`);
  };
  const rng = new Rng(seed);
  measure(0);
  for (let step = 0; step < steps; step++) {
    const loss = lossFn(getBatch(trainIds, B, T, rng));
    loss.backward();
    clipGradNorm(params, 1.0); // rescales every gradient if their joint norm exceeds 1
    opt.step(schedule(step));
    opt.zeroGrad();
    if ((step + 1) % evalEvery === 0 || step + 1 === steps) measure(step + 1);
  }
  return { model, tokenizer, uniformLoss: Math.log(tokenizer.vocabSize), history };
}

/** What {@link main} measured. */
export interface TrainingResult {
  /** ln(V). */
  uniformLoss: number;
  /** Losses before training. */
  before: LossPoint;
  /** Losses after training. */
  after: LossPoint;
  /** Every measurement. */
  history: LossPoint[];
}

/** Trains and reports the losses. */
export function main(opts: TrainOptions = {}): TrainingResult {
  const log = opts.log ?? ((l: string) => console.log(l));
  const { model, uniformLoss, history } = trainGPT({ ...opts, log });
  log(`${model.numParameters()} parameters; uniform guess: ${uniformLoss.toFixed(3)}`);
  return { uniformLoss, before: history[0], after: history[history.length - 1], history };
}

if (import.meta.main) main();
