import { Tensor } from "../../lib/tensor/tensor.ts";
import { type NamedParam, splitDecayGroups, uniqueParams } from "../../lib/optim/param.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

function param(name: string, shape: number[]): NamedParam {
  return { name, tensor: Tensor.zeros(shape, "float32", true) };
}

/** A tiny nanoGPT-shaped parameter list with lm_head tied to wte. */
function gptParams(lmHeadFirst: boolean): NamedParam[] {
  const wte = param("transformer.wte.weight", [10, 4]);
  const head = { name: "lm_head.weight", tensor: wte.tensor };
  const rest = [
    param("transformer.wpe.weight", [8, 4]),
    param("transformer.h.0.ln_1.weight", [4]),
    param("transformer.h.0.ln_1.bias", [4]),
    param("transformer.h.0.attn.c_attn.weight", [12, 4]),
    param("transformer.h.0.attn.c_attn.bias", [12]),
    param("transformer.h.0.mlp.c_fc.weight", [16, 4]),
    param("transformer.ln_f.weight", [4]),
  ];
  return lmHeadFirst ? [head, wte, ...rest] : [wte, ...rest, head];
}

const names = (ps: NamedParam[]) => ps.map((p) => p.name);

Deno.test("splitDecayGroups: matrices decay; biases, norms and embeddings do not", () => {
  const g = splitDecayGroups(gptParams(false));
  assertEquals(names(g.decay), ["transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.weight"]);
  assertEquals(names(g.noDecay), [
    "transformer.wte.weight",
    "transformer.wpe.weight",
    "transformer.h.0.ln_1.weight",
    "transformer.h.0.ln_1.bias",
    "transformer.h.0.attn.c_attn.bias",
    "transformer.ln_f.weight",
  ]);
});

Deno.test("splitDecayGroups: a tied lm_head listed first keeps its name and is still an embedding", () => {
  const g = splitDecayGroups(gptParams(true));
  assertEquals(names(g.decay), ["transformer.h.0.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.weight"]);
  assertEquals(names(g.noDecay)[0], "lm_head.weight");
  assertEquals(g.decay.length + g.noDecay.length, 8);
});

Deno.test("splitDecayGroups: an untied lm_head is decayed; custom rule and suffixes", () => {
  const ps = [param("transformer.wte.weight", [10, 4]), param("lm_head.weight", [10, 4])];
  assertEquals(names(splitDecayGroups(ps).decay), ["lm_head.weight"]);
  assertEquals(names(splitDecayGroups(ps, { decay: () => true }).decay), [
    "transformer.wte.weight",
    "lm_head.weight",
  ]);
  assertEquals(names(splitDecayGroups(ps, { embeddingSuffixes: ["lm_head.weight"] }).decay), [
    "transformer.wte.weight",
  ]);
  // Suffixes match at a dot boundary only.
  assertEquals(names(splitDecayGroups([param("xwte.weight", [2, 2])]).decay), ["xwte.weight"]);
});

Deno.test("uniqueParams: dedups by identity, keeps first name; rejects one name for two tensors", () => {
  const ps = gptParams(false);
  const u = uniqueParams(ps);
  assertEquals(u.length, ps.length - 1);
  assertEquals(u[0].name, "transformer.wte.weight");
  assertThrows(() => uniqueParams([param("a", [2]), param("a", [2])]), `"a"`, "two different tensors");
});
