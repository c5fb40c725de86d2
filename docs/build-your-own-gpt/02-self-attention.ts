/**
 * Step 2 of "Build your own GPT": one head of causal self-attention.
 *
 * The bigram model sees one character. Here every position gets a vector (token embedding + position
 * embedding) and looks back at the positions before it: it sends a query, every position offers a key and a
 * value, and the output is the average of the values weighted by how well each key matches the query. The
 * causal mask (−∞ above the diagonal before the softmax) keeps position t from seeing anything after t.
 *
 * Run: `deno run docs/build-your-own-gpt/02-self-attention.ts`
 *
 * @module
 */
import {
  add,
  crossEntropy,
  Embedding,
  Linear,
  matmul,
  Module,
  noGrad,
  Rng,
  scale,
  softmax,
  Tensor,
  transpose,
} from "../../mod.ts";
import * as step1 from "./01-bigram.ts";

/** The causal mask as a (T, T) tensor added to the scores: 0 where key j ≤ query i, −∞ where j > i. */
export function causalMaskTensor(T: number): Tensor {
  const m = Tensor.zeros([T, T]);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m.data[i * T + j] = -Infinity;
  return m; // after the softmax, −∞ becomes a weight of exactly 0
}

/** One head of causal self-attention: x (B, T, C) → (B, T, D). */
export class Head extends Module {
  readonly query: Linear; // what each position is looking for, C → D
  readonly key: Linear; // what each position offers to be found by, C → D
  readonly value: Linear; // what each position hands over when it is found, C → D

  constructor(nEmbd: number, readonly headSize: number, rng: Rng) {
    super();
    this.query = this.child("query", new Linear(nEmbd, headSize, { rng, bias: false }));
    this.key = this.child("key", new Linear(nEmbd, headSize, { rng, bias: false }));
    this.value = this.child("value", new Linear(nEmbd, headSize, { rng, bias: false }));
  }

  /** softmax(mask(q·kᵀ / √D)) · v. */
  forward(x: Tensor): Tensor {
    const T = x.shape[1];
    const q = this.query.forward(x), k = this.key.forward(x), v = this.value.forward(x); // (B, T, D) each
    let scores = matmul(q, transpose(k, -2, -1)); // (B, T, T): scores[b, i, j] = q_i · k_j
    scores = scale(scores, 1 / Math.sqrt(this.headSize)); // keeps the softmax from saturating as D grows
    scores = add(scores, causalMaskTensor(T)); // the future gets −∞
    const weights = softmax(scores); // each row sums to 1 over the positions j ≤ i
    return matmul(weights, v); // (B, T, D): a weighted average of the values
  }
}

/** Embeddings → one attention head → a linear map to the logits. */
export class AttentionLM extends Module {
  readonly wte: Embedding; // token embeddings (V, C)
  readonly wpe: Embedding; // position embeddings (blockSize, C): attention alone ignores order
  readonly head: Head; // the attention head (D = C)
  readonly lm_head: Linear; // (V, C): head output → logits

  constructor(vocabSize: number, blockSize: number, nEmbd: number, rng: Rng) {
    super();
    this.wte = this.child("wte", new Embedding(vocabSize, nEmbd, { rng }));
    this.wpe = this.child("wpe", new Embedding(blockSize, nEmbd, { rng }));
    this.head = this.child("head", new Head(nEmbd, nEmbd, rng));
    this.lm_head = this.child("lm_head", new Linear(nEmbd, vocabSize, { rng }));
  }

  /** idx (B, T) → logits (B, T, V); with `headOnly`, the head's output (B, T, C) instead. */
  forward(idx: Int32Array, B: number, T: number, headOnly = false): Tensor {
    const positions = Int32Array.from({ length: T }, (_, t) => t);
    const x = add(this.wte.forward(idx, [B, T]), this.wpe.forward(positions, [T])); // (B, T, C) + (T, C)
    const h = this.head.forward(x);
    return headOnly ? h : this.lm_head.forward(h);
  }
}

/** What {@link main} measured: the losses, and which outputs moved when one token changed. */
export interface AttentionResult extends step1.LossResult {
  /** Position whose token was changed. */
  changedAt: number;
  /** Largest change of the head's output before `changedAt` (0: the past cannot see the future). */
  maxChangeBefore: number;
  /** Largest change at `changedAt` and after. */
  maxChangeFrom: number;
}

/** Trains the one-head model, then changes one token and measures which outputs moved. */
export function main(opts: step1.StepOptions = {}): AttentionResult {
  const { steps = 500, seed = 1, log = (l: string) => console.log(l) } = opts;
  const { tokenizer, ids } = step1.loadText();
  const V = tokenizer.vocabSize, T = 16, rng = new Rng(seed);
  const model = new AttentionLM(V, T, 32, rng);
  const lossFn: step1.LossFn = (b) => crossEntropy(model.forward(b.x, b.B, b.T), b.y);
  const lossBefore = step1.estimateLoss(lossFn, ids, 32, T);
  step1.trainLoop(lossFn, model.namedParameters(), ids, { steps, B: 32, T, lr: 3e-2, rng });
  const lossAfter = step1.estimateLoss(lossFn, ids, 32, T);
  // causality: change the token at position 10; outputs 0..9 must not move at all
  const changedAt = 10, a = ids.slice(0, T), b = a.slice();
  b[changedAt] = (b[changedAt] + 1) % V;
  const [ha, hb] = noGrad(() => [model.forward(a, 1, T, true), model.forward(b, 1, T, true)]);
  let maxChangeBefore = 0, maxChangeFrom = 0;
  for (let i = 0; i < ha.size; i++) {
    const d = Math.abs(ha.data[i] - hb.data[i]), t = Math.floor(i / ha.shape[2]);
    if (t < changedAt) maxChangeBefore = Math.max(maxChangeBefore, d);
    else maxChangeFrom = Math.max(maxChangeFrom, d);
  }
  const uniformLoss = Math.log(V);
  log(`loss before training: ${lossBefore.toFixed(3)} (uniform guess: ${uniformLoss.toFixed(3)})`);
  log(`loss after ${steps} steps: ${lossAfter.toFixed(3)}`);
  log(`changed the token at position ${changedAt} of ${T}:`);
  log(`  largest change of the outputs at positions 0..${changedAt - 1}: ${maxChangeBefore}`);
  log(`  largest change at positions ${changedAt}..${T - 1}: ${maxChangeFrom.toFixed(4)}`);
  return { uniformLoss, lossBefore, lossAfter, changedAt, maxChangeBefore, maxChangeFrom };
}

if (import.meta.main) main();
