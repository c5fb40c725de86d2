/**
 * Step 3 of "Build your own GPT": the transformer block, stacked into a small GPT of our own.
 *
 * What changes from step 2: several heads attend side by side (one (3C, C) projection `c_attn` makes the
 * queries, keys and values of all heads at once); a small MLP then works on each position alone; each
 * sub-layer's output is added to its input (a residual connection) instead of replacing it; a LayerNorm
 * before each sub-layer keeps the numbers in range; and the block is repeated `nLayer` times. The parameter
 * names are nanoGPT's (`transformer.h.0.attn.c_attn.weight`, …), which step 4 relies on.
 *
 * Run: `deno run docs/build-your-own-gpt/03-block.ts`
 *
 * @module
 */
import {
  add,
  Container,
  crossEntropy,
  Embedding,
  gelu,
  type GPTConfig,
  LayerNorm,
  Linear,
  matmul,
  Module,
  ModuleList,
  narrow,
  permute,
  reshape,
  Rng,
  scale,
  softmax,
  type Tensor,
  transpose,
} from "../../mod.ts";
import * as step1 from "./01-bigram.ts";
import { causalMaskTensor } from "./02-self-attention.ts";

/** The sizes of a {@link MiniGPT}: the library's GPTConfig has the same names (and more options). */
export type MiniConfig = Pick<GPTConfig, "vocabSize" | "blockSize" | "nLayer" | "nHead" | "nEmbd">;

/** nHead heads of step 2's attention, computed together: x (B, T, C) → (B, T, C). */
export class MultiHeadAttention extends Module {
  readonly c_attn: Linear; // q, k and v of every head, (3C, C)
  readonly c_proj: Linear; // mixes the heads' outputs, (C, C)

  constructor(nEmbd: number, readonly nHead: number, rng: Rng) {
    super();
    this.c_attn = this.child("c_attn", new Linear(nEmbd, 3 * nEmbd, { rng }));
    this.c_proj = this.child("c_proj", new Linear(nEmbd, nEmbd, { rng }));
  }

  /** Each head: softmax(mask(q·kᵀ/√D))·v on its own D = C/H columns; then the heads side by side, mixed. */
  forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape, H = this.nHead, D = C / H;
    const qkv = this.c_attn.forward(x); // (B, T, 3C): q | k | v
    const heads = (t: Tensor) => permute(reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B, T, C) → (B, H, T, D)
    const q = heads(narrow(qkv, 2, 0, C)),
      k = heads(narrow(qkv, 2, C, C)),
      v = heads(narrow(qkv, 2, 2 * C, C));
    const scores = scale(matmul(q, transpose(k, -2, -1)), 1 / Math.sqrt(D)); // (B, H, T, T)
    const y = matmul(softmax(add(scores, causalMaskTensor(T))), v); // one mask for all heads: (B, H, T, D)
    return this.c_proj.forward(reshape(permute(y, [0, 2, 1, 3]), [B, T, C])); // back to (B, T, C)
  }
}

/** The per-position MLP: c_fc (4C, C) → GELU → c_proj (C, 4C). */
export class FeedForward extends Module {
  readonly c_fc: Linear; // up to 4C
  readonly c_proj: Linear; // back to C

  constructor(nEmbd: number, rng: Rng) {
    super();
    this.c_fc = this.child("c_fc", new Linear(nEmbd, 4 * nEmbd, { rng }));
    this.c_proj = this.child("c_proj", new Linear(4 * nEmbd, nEmbd, { rng }));
  }

  /** x (B, T, C) → (B, T, C), each position on its own. */
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(gelu(this.c_fc.forward(x)));
  }
}

/** A pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
export class TransformerBlock extends Module {
  readonly ln_1: LayerNorm; // norm before attention
  readonly attn: MultiHeadAttention; // communication between positions
  readonly ln_2: LayerNorm; // norm before the MLP
  readonly mlp: FeedForward; // computation at each position

  constructor(nEmbd: number, nHead: number, rng: Rng) {
    super();
    this.ln_1 = this.child("ln_1", new LayerNorm(nEmbd));
    this.attn = this.child("attn", new MultiHeadAttention(nEmbd, nHead, rng));
    this.ln_2 = this.child("ln_2", new LayerNorm(nEmbd));
    this.mlp = this.child("mlp", new FeedForward(nEmbd, rng));
  }

  /** x (B, T, C) → (B, T, C). The additions are the residual connections. */
  forward(x: Tensor): Tensor {
    x = add(x, this.attn.forward(this.ln_1.forward(x)));
    return add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}

/** Embeddings → nLayer blocks → final LayerNorm → logits, with nanoGPT's parameter names. */
export class MiniGPT extends Module {
  readonly transformer: Container; // holds wte, wpe, h and ln_f (nanoGPT's `transformer`)
  readonly wte: Embedding; // token embeddings (V, C)
  readonly wpe: Embedding; // position embeddings (blockSize, C)
  readonly h: ModuleList<TransformerBlock>; // the blocks
  readonly ln_f: LayerNorm; // final norm
  readonly lm_head: Linear; // (V, C), no bias

  /** Creates the model with small random weights. */
  constructor(readonly config: MiniConfig, rng: Rng) {
    super();
    const { vocabSize: V, blockSize, nLayer, nHead, nEmbd: C } = config;
    this.transformer = this.child("transformer", new Container());
    this.wte = this.transformer.add("wte", new Embedding(V, C, { rng }));
    this.wpe = this.transformer.add("wpe", new Embedding(blockSize, C, { rng }));
    const blocks = Array.from({ length: nLayer }, () => new TransformerBlock(C, nHead, rng));
    this.h = this.transformer.add("h", new ModuleList(blocks));
    this.ln_f = this.transformer.add("ln_f", new LayerNorm(C));
    this.lm_head = this.child("lm_head", new Linear(C, V, { rng, bias: false }));
  }

  /** idx (B, T) → logits (B, T, V). */
  forward(idx: Int32Array, B: number, T: number): Tensor {
    const positions = Int32Array.from({ length: T }, (_, t) => t);
    let x = add(this.wte.forward(idx, [B, T]), this.wpe.forward(positions, [T])); // the residual stream
    for (const block of this.h.items) x = block.forward(x);
    return this.lm_head.forward(this.ln_f.forward(x));
  }
}

/** What {@link main} measured: the losses and the model's size. */
export interface BlockResult extends step1.LossResult {
  /** Number of weights. */
  parameters: number;
}

/** Trains a two-block MiniGPT with the loop of step 1. */
export function main(opts: step1.StepOptions = {}): BlockResult {
  const { steps = 300, seed = 1, log = (l: string) => console.log(l) } = opts;
  const { tokenizer, ids } = step1.loadText();
  const V = tokenizer.vocabSize, T = 32, rng = new Rng(seed);
  const model = new MiniGPT({ vocabSize: V, blockSize: T, nLayer: 2, nHead: 4, nEmbd: 32 }, rng);
  const lossFn: step1.LossFn = (b) => crossEntropy(model.forward(b.x, b.B, b.T), b.y);
  const lossBefore = step1.estimateLoss(lossFn, ids, 16, T);
  step1.trainLoop(lossFn, model.namedParameters(), ids, { steps, B: 16, T, lr: 1e-2, rng });
  const lossAfter = step1.estimateLoss(lossFn, ids, 16, T), uniformLoss = Math.log(V);
  log(`MiniGPT: 2 blocks, 4 heads, width 32, ${model.numParameters()} parameters`);
  log(`loss before training: ${lossBefore.toFixed(3)} (uniform guess: ${uniformLoss.toFixed(3)})`);
  log(`loss after ${steps} steps: ${lossAfter.toFixed(3)}`);
  return { uniformLoss, lossBefore, lossAfter, parameters: model.numParameters() };
}

if (import.meta.main) main();
