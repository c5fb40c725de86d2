/**
 * "Did you mean …?": the nearest known name to a mistyped one, for config keys and command-line flags alike.
 *
 * @module
 */

/** Levenshtein distance between `a` and `b` (insertions, deletions and substitutions cost 1). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The candidate nearest to `word` when it is fewer than `below` edits away (the first such on ties). */
export function closest(word: string, candidates: Iterable<string>, below = 3): string | undefined {
  let best: string | undefined, bestD = below;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}
