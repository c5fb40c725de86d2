/**
 * A small synthetic code corpus for tests: deterministic TypeScript-like files written to a temp folder.
 *
 * @module
 */
import type { CorpusFiles } from "../../lib/data/corpus.ts";
import { Rng } from "../../lib/random.ts";

const WORDS = ["value", "count", "index", "node", "result", "items", "name", "key", "size", "left", "right"];

/** Writes `files` small source files (about `chars` characters each) and returns the folder. */
export async function makeCodeCorpus(files = 6, chars = 3000, seed = 1): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lcm-corpus-" });
  const rng = new Rng(seed);
  const w = () => WORDS[rng.int(WORDS.length)];
  for (let f = 0; f < files; f++) {
    let text = "";
    while (text.length < chars) {
      text += `export function ${w()}Of(${w()}: number, ${w()}: string): number {\n` +
        `  const ${w()} = ${w()}.length + ${rng.int(100)};\n  return ${w()} * 2;\n}\n\n`;
    }
    await Deno.writeTextFile(`${dir}/file${String(f).padStart(2, "0")}.ts`, text);
  }
  return dir;
}

/** The texts of a scanned corpus's training then validation pieces, in order (what the char vocabulary streams). */
export async function* splitPieces(c: CorpusFiles): AsyncGenerator<string> {
  for (const split of ["train", "val"] as const) {
    for await (const p of c.pieces(split)) yield p.text;
  }
}
