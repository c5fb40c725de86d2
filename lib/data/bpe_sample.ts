/**
 * The text BPE is trained on, bounded in size: a corpus's whole training split while it is at most
 * {@link BPE_SAMPLE_BYTES}, else a deterministic sample of it, so that training a tokenizer does not need the
 * whole corpus in memory.
 *
 * **The rule.** With the training split's files `f0, f1, …` (in corpus order) and `k = ceil(trainBytes /
 * BPE_SAMPLE_BYTES)`, the sample is every k-th file (`f0, fk, f2k, …`) joined with "\n", each cut to its first
 * `BPE_SAMPLE_BYTES` characters. Below the limit (k = 1) it is exactly the training text, so small corpora train
 * the same tokenizer as before the limit existed.
 *
 * @module
 */
import type { CorpusFiles } from "./corpus.ts";

/** Training text above this many bytes is sampled (32 MiB). */
export const BPE_SAMPLE_BYTES = 32 * 2 ** 20;

/** The training text for BPE under the rule of this module's notes (`budget` defaults to the limit). */
export async function bpeTrainingText(corpus: CorpusFiles, budget = BPE_SAMPLE_BYTES): Promise<string> {
  const k = Math.max(1, Math.ceil(corpus.splitBytes.train / budget));
  const parts: string[] = [];
  let file = 0, current = "";
  for await (const piece of corpus.pieces("train")) {
    if (k === 1) parts.push(piece.text);
    else if (piece.separator) continue;
    else if (file % k === 0 && current.length < budget) {
      current += piece.text.slice(0, budget - current.length);
    }
    if (k > 1 && piece.files === 1) {
      if (file % k === 0) parts.push(current);
      current = "";
      file++;
    }
  }
  return parts.join(k === 1 ? "" : "\n");
}
