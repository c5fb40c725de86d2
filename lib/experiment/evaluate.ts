/**
 * Evaluating a trained run on a text: what `deno task eval` computes.
 *
 * - `ppl`, `bpb` (gpt runs): the model reads the text in windows of block_size tokens, stride block_size, so
 *   every token after the first is predicted once with up to block_size tokens of context. Perplexity is
 *   exp(nats per token); bits per byte divides the same total by ln 2 and by the UTF-8 bytes of the predicted
 *   tokens, so a char model and a BPE model of the same text compare fairly.
 * - `bleu`, `rouge` (gpt runs): greedy continuations of prompts taken at evenly spaced places in the text,
 *   scored against the text that really followed (corpus BLEU-4 on whitespace-separated words, NLTK's smoothing
 *   method 1 by default; ROUGE-1/2/L F1 with rouge_score's tokenizer). t5 runs score greedy decodings of their
 *   held-out batches instead, and add exact match.
 * - bert runs report the masked-LM loss, its perplexity and the masked accuracy on masked windows of the text.
 *
 * @module
 */
import { maskEvalBatches } from "../data/mlm.ts";
import { type Batch, evalWindows } from "../data/batcher.ts";
import type { Tokenizer } from "../data/tokenizer.ts";
import { corpusBleu, type SmoothingMethod, whitespaceTokenize } from "../eval/bleu.ts";
import { bitsPerByte, utf8ByteLength } from "../eval/perplexity.ts";
import { corpusRouge } from "../eval/rouge.ts";
import { stepOn } from "../generate/device.ts";
import { generateAsync } from "../generate/generate.ts";
import { Bert } from "../nn/models/bert.ts";
import { GPT } from "../nn/models/gpt.ts";
import type { T5 } from "../nn/models/t5.ts";
import { Rng } from "../random.ts";
import { noGrad } from "../tensor/grad.ts";
import type { Config } from "./config.ts";
import {
  bertScoresAsync,
  type FamilyModel,
  sameIds,
  t5DecodingsAsync,
  t5Run,
  t5Text,
  t5Vocab,
} from "./families.ts";

/** The metrics `deno task eval` can compute. */
export type MetricName = "ppl" | "bpb" | "bleu" | "rouge";

/** How far an evaluation is: `done` of `total` units (windows, continuations, batches) of one phase. */
export interface EvalProgress {
  /** "scoring" (the loss over windows or masked batches), "generating" (continuations), "decoding" (t5). */
  phase: "scoring" | "generating" | "decoding";
  /** Units done. */
  done: number;
  /** Units in the phase. */
  total: number;
  /** What a unit is ("windows", "continuations", "batches"). */
  unit: string;
}

/** Options of {@link evaluateText}. */
export interface EvaluateOptions {
  /** Called as the evaluation advances (at least at the start and the end of each phase). */
  onProgress?: (p: EvalProgress) => void;
  /** Which metrics (default all four). */
  metrics?: readonly MetricName[];
  /** Score at most this many tokens for ppl/bpb (default 200,000; the text's start). */
  maxTokens?: number;
  /** Prompts for BLEU/ROUGE (default 40). */
  prompts?: number;
  /** Prompt length in tokens (default half the block, at most 64). */
  promptTokens?: number;
  /** Tokens generated and compared per prompt (default 32). */
  continuationTokens?: number;
  /** BLEU smoothing (default "method1", NLTK's epsilon smoothing). */
  bleuSmoothing?: SmoothingMethod;
}

/** What {@link evaluateText} measured (fields present for the metrics that apply to the run's family). */
export interface EvalResult {
  /** Model family. */
  family: string;
  /** Tokens scored for the loss. */
  tokens?: number;
  /** UTF-8 bytes those tokens decode to. */
  bytes?: number;
  /** Mean nats per scored token. */
  loss?: number;
  /** exp(loss). */
  ppl?: number;
  /** Bits per UTF-8 byte. */
  bpb?: number;
  /** bert: masked-token accuracy. */
  masked_accuracy?: number;
  /** Corpus BLEU-4 of the generated text. */
  bleu?: number;
  /** ROUGE F1 scores of the generated text. */
  rouge1?: number;
  /** ROUGE-2 F1. */
  rouge2?: number;
  /** ROUGE-L F1. */
  rougeL?: number;
  /** t5: share of held-out examples decoded exactly. */
  exact_match?: number;
  /** How BLEU/ROUGE were computed. */
  generation?: {
    prompts: number;
    prompt_tokens: number;
    continuation_tokens: number;
    bleu_smoothing: string;
  };
  /** One example: prompt, reference, hypothesis. */
  example?: { prompt: string; reference: string; hypothesis: string };
}

const ALL: readonly MetricName[] = ["ppl", "bpb", "bleu", "rouge"];

// ids[from, to) decoded and counted in UTF-8 bytes
function bytesOf(tok: Tokenizer, ids: Int32Array): number {
  const byteLength = (tok as { byteLength?: (ids: ArrayLike<number>) => number }).byteLength;
  return typeof byteLength === "function" ? byteLength.call(tok, ids) : utf8ByteLength(tok.decode(ids));
}

/**
 * Loss, perplexity and bits per byte of a GPT over `tokens` (windows of block_size, stride block_size), on the
 * device its weights live on (the GPU's losses are read back once per batch of windows).
 */
export async function languageModelScores(
  model: GPT,
  tokenizer: Tokenizer,
  tokens: Int32Array,
  maxTokens = 200_000,
  onProgress?: (p: EvalProgress) => void,
): Promise<{ tokens: number; bytes: number; loss: number; ppl: number; bpb: number }> {
  const T = model.config.blockSize, B = 8;
  const n = Math.min(tokens.length, maxTokens + 1);
  const windows = Math.floor((n - 1) / T);
  if (windows < 1) {
    throw new Error(`the text has ${tokens.length} tokens, fewer than one window of ${T + 1}`);
  }
  let nats = 0;
  model.eval();
  const report = (done: number) => onProgress?.({ phase: "scoring", done, total: windows, unit: "windows" });
  report(0);
  // one batch in flight: the next batch is recorded before the previous loss is awaited (summed in order)
  let pending: { loss: Promise<number>; tokens: number; done: number } | null = null;
  const settle = async () => {
    if (pending === null) return;
    nats += (await pending.loss) * pending.tokens;
    report(pending.done);
  };
  for (let w0 = 0; w0 < windows; w0 += B) {
    const rows = Math.min(B, windows - w0), x = new Int32Array(rows * T), y = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      const at = (w0 + r) * T;
      x.set(tokens.subarray(at, at + T), r * T);
      y.set(tokens.subarray(at + 1, at + T + 1), r * T);
    }
    const loss = noGrad(() =>
      stepOn(model.wte.weight, () => model.forward(x, rows, T, { targets: y }).loss!.itemAsync())
    );
    await settle();
    pending = { loss, tokens: rows * T, done: w0 + rows };
  }
  await settle();
  const scored = windows * T, bytes = bytesOf(tokenizer, tokens.subarray(1, scored + 1));
  return {
    tokens: scored,
    bytes,
    loss: nats / scored,
    ppl: Math.exp(nats / scored),
    bpb: bitsPerByte(nats, bytes),
  };
}

/** BLEU and ROUGE of greedy continuations of evenly spaced prompts from `tokens` (on the model's device). */
export async function continuationScores(
  model: GPT,
  tokenizer: Tokenizer,
  tokens: Int32Array,
  o: EvaluateOptions = {},
): Promise<Pick<EvalResult, "bleu" | "rouge1" | "rouge2" | "rougeL" | "generation" | "example">> {
  const T = model.config.blockSize;
  const P = o.promptTokens ?? Math.min(64, T >> 1), L = o.continuationTokens ?? Math.min(32, T - P);
  const n = o.prompts ?? 40;
  if (P + L > T) throw new Error(`prompt (${P}) + continuation (${L}) tokens exceed block_size ${T}`);
  const span = tokens.length - P - L;
  if (span < 1) {
    throw new Error(`the text is too short for a ${P}-token prompt and ${L} tokens to compare`);
  }
  const refs: string[] = [], hyps: string[] = [];
  let example: EvalResult["example"];
  const report = (done: number) =>
    o.onProgress?.({ phase: "generating", done, total: n, unit: "continuations" });
  report(0);
  for (let i = 0; i < n; i++) {
    const at = Math.floor((i * span) / n);
    const prompt = tokens.slice(at, at + P), reference = tokens.subarray(at + P, at + P + L);
    const out = await generateAsync(model, prompt, {
      maxNewTokens: L,
      sampling: { greedy: true },
      rng: new Rng(i),
    });
    refs.push(tokenizer.decode(reference));
    hyps.push(tokenizer.decode(out.subarray(P)));
    example ??= { prompt: tokenizer.decode(prompt), reference: refs[0], hypothesis: hyps[0] };
    report(i + 1);
  }
  return {
    ...textScores(refs, hyps, o.bleuSmoothing ?? "method1"),
    generation: {
      prompts: n,
      prompt_tokens: P,
      continuation_tokens: L,
      bleu_smoothing: o.bleuSmoothing ?? "method1",
    },
    example,
  };
}

/** Corpus BLEU-4 (whitespace words) and ROUGE-1/2/L F1 of hypotheses against one reference each. */
export function textScores(
  refs: readonly string[],
  hyps: readonly string[],
  smoothing: SmoothingMethod = "method1",
): { bleu: number; rouge1: number; rouge2: number; rougeL: number } {
  const bleu = corpusBleu(refs.map((r) => [whitespaceTokenize(r)]), hyps.map(whitespaceTokenize), {
    smoothing,
    onWarning: () => {},
  });
  const r = corpusRouge([...refs], [...hyps], ["rouge1", "rouge2", "rougeL"]);
  const f = (t: string) => r[t as keyof typeof r]?.fmeasure ?? NaN;
  return { bleu, rouge1: f("rouge1"), rouge2: f("rouge2"), rougeL: f("rougeL") };
}

/**
 * Evaluates a run's model on a text (the ids of `tokens`, from `tokenizer`) with the metrics that apply to its
 * family: see the module notes. The model is evaluated on the device its weights live on (the CPU, or the GPU
 * after `model.toGpu`).
 */
export async function evaluateText(
  config: Config,
  model: FamilyModel,
  tokenizer: Tokenizer,
  tokens: Int32Array,
  o: EvaluateOptions = {},
): Promise<EvalResult> {
  const metrics = new Set(o.metrics ?? ALL);
  const family = config.model.family;
  if (model instanceof GPT) {
    const out: EvalResult = { family };
    if (metrics.has("ppl") || metrics.has("bpb")) {
      const s = await languageModelScores(model, tokenizer, tokens, o.maxTokens, o.onProgress);
      Object.assign(out, { tokens: s.tokens, bytes: s.bytes, loss: s.loss });
      if (metrics.has("ppl")) out.ppl = s.ppl;
      if (metrics.has("bpb")) out.bpb = s.bpb;
    }
    if (metrics.has("bleu") || metrics.has("rouge")) {
      const s = await continuationScores(model, tokenizer, tokens, o);
      if (!metrics.has("bleu")) delete s.bleu;
      if (!metrics.has("rouge")) (delete s.rouge1, delete s.rouge2, delete s.rougeL);
      Object.assign(out, s);
    }
    return out;
  }
  if (model instanceof Bert) {
    const T = config.model.block_size, maxTokens = o.maxTokens ?? 200_000;
    const text = tokens.subarray(0, maxTokens + 1);
    // windows spread evenly over the text, about one per block_size tokens
    const windows = evalWindows(text, T, 8, Math.max(1, Math.floor((text.length - 1) / (8 * T))));
    const batches: Batch[] = maskEvalBatches(windows, T, {
      maskId: tokenizer.vocabSize,
      vocabSize: tokenizer.vocabSize,
      probability: config.data.mask_probability,
      seed: config.train.seed,
    });
    const report = (done: number) =>
      o.onProgress?.({ phase: "scoring", done, total: batches.length, unit: "batches" });
    report(0);
    const { loss, accuracy, masked } = await bertScoresAsync(model, batches, T);
    report(batches.length);
    if (masked === 0) throw new Error("eval: no masked positions (the text is shorter than one window)");
    return { family, tokens: masked, loss, ppl: Math.exp(loss), masked_accuracy: accuracy };
  }
  return await seq2seqScores(config, model, tokenizer, tokens, o);
}

// t5: the run's own held-out batches (span corruption of this text, or its generated task), decoded greedily
async function seq2seqScores(
  config: Config,
  model: T5,
  tokenizer: Tokenizer,
  tokens: Int32Array,
  o: EvaluateOptions,
): Promise<EvalResult> {
  const vocab = t5Vocab(config, tokenizer.vocabSize);
  const run = t5Run(config, model, tokenizer, tokens, tokens, {
    data: new Rng(config.train.seed),
    mask: new Rng(0),
  });
  const report = (done: number) =>
    o.onProgress?.({ phase: "decoding", done, total: run.evalBatches.length, unit: "batches" });
  report(0);
  const rows = await t5DecodingsAsync(model, vocab, run.evalBatches);
  report(run.evalBatches.length);
  const refs = rows.map((d) => t5Text(tokenizer, vocab, d.want));
  const hyps = rows.map((d) => t5Text(tokenizer, vocab, d.got));
  const exact = rows.filter((d) => sameIds(d.got, d.want)).length;
  const smoothing = o.bleuSmoothing ?? "method1";
  return {
    family: config.model.family,
    exact_match: exact / refs.length,
    ...textScores(refs, hyps, smoothing),
    example: { prompt: "", reference: refs[0], hypothesis: hyps[0] },
  };
}
