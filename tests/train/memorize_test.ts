import { CharTokenizer } from "../../lib/data/char_tokenizer.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { uniqueParams } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import { assertTrue } from "../_helpers/assert.ts";

Deno.test("a tiny GPT memorises a short sequence (loss < 0.05 within a few hundred steps)", () => {
  const text = "export function add(a: number, b: number) { return a + b; }";
  const tok = CharTokenizer.fromText(text);
  const ids = tok.encode(text);
  const T = ids.length - 1;
  const x = ids.slice(0, T), y = ids.slice(1);
  const model = new GPT({
    vocabSize: tok.vocabSize,
    blockSize: T,
    nLayer: 2,
    nHead: 2,
    nEmbd: 32,
    dropout: 0,
    bias: true,
    tieWeights: true,
  }, new Rng(3));
  const opt = new AdamW(uniqueParams(model.namedParameters()), { lr: 1e-2, weightDecay: 0 });
  let loss = Infinity, step = 0;
  for (; step < 300 && loss >= 0.05; step++) {
    const out = model.forward(x, 1, T, { targets: y });
    loss = out.loss!.item();
    out.loss!.backward();
    opt.step();
    opt.zeroGrad();
  }
  assertTrue(loss < 0.05, `loss ${loss} after ${step} steps`);
  console.log(`memorised in ${step} steps (loss ${loss.toFixed(4)})`);
});
