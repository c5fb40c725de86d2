import { loadConfig } from "../../lib/experiment/config.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { layerDepth, layerGroup, layerLrScales } from "../../lib/optim/param.ts";
import { SGD } from "../../lib/optim/sgd.ts";
import { Rng } from "../../lib/random.ts";
import { accumulateGrad } from "../../lib/tensor/grad.ts";
import { assertAllClose, assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("layer-wise learning rates: depths, groups and scales follow the nanoGPT names", () => {
  const names = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight"];
  names.push("transformer.h.2.mlp.c_proj.bias", "transformer.ln_f.weight", "lm_head.weight");
  assertEquals(names.map((n) => layerDepth(n, 3)), [0, 0, 1, 3, 4, 4]);
  assertEquals(names.map(layerGroup), ["embed", "embed", "h.0", "h.2", "head", "head"]);
  const scale = layerLrScales(3, 0.5);
  const got = names.map((name) => scale({ name, tensor: null as never }));
  assertEquals(got, [1 / 16, 1 / 16, 1 / 8, 1 / 2, 1, 1]);
  assertThrows(() => layerLrScales(3, 0), "layer_lr_decay must be in (0, 1]");
});

Deno.test("AdamW and SGD with lrScale: each parameter moves as if optimised alone at lr · scale", () => {
  const cfg = {
    vocabSize: 13,
    blockSize: 8,
    nLayer: 2,
    nHead: 2,
    nEmbd: 64,
    dropout: 0,
    bias: true,
    tieWeights: true,
  };
  const scale = layerLrScales(2, 0.3);
  for (const make of ["adamw", "sgd"] as const) {
    const run = (perParameterRates: boolean) => {
      const model = new GPT(cfg, new Rng(3));
      const params = model.namedParameters(undefined, true);
      // per-parameter reference: one optimizer per parameter at its own rate
      const opts = (lr: number) => ({ lr, weightDecay: 0.1, momentum: 0.9 });
      const opt = perParameterRates
        ? params.map((p) =>
          make === "adamw" ? new AdamW([p], opts(1e-2 * scale(p))) : new SGD([p], opts(1e-2 * scale(p)))
        )
        : [
          make === "adamw"
            ? new AdamW(params, { ...opts(1e-2), lrScale: scale })
            : new SGD(params, { ...opts(1e-2), lrScale: scale }),
        ];
      const rng = new Rng(4);
      for (let s = 0; s < 3; s++) {
        for (const o of opt) o.zeroGrad();
        for (const { tensor } of params) {
          accumulateGrad(
            tensor,
            new Float32Array(tensor.size).map(() => rng.normal()),
          );
        }
        for (const o of opt) o.step();
      }
      return params.map((p) => p.tensor.data.slice());
    };
    const grouped = run(false), alone = run(true);
    for (let i = 0; i < grouped.length; i++) assertAllClose(grouped[i], alone[i], 0, 0, `${make} param ${i}`);
  }
});

Deno.test("bad learning-rate scales give clear errors: a negative lrScale, train.layer_lr_decay outside (0, 1]", () => {
  const model = new GPT({
    vocabSize: 5,
    blockSize: 4,
    nLayer: 1,
    nHead: 1,
    nEmbd: 4,
    dropout: 0,
    bias: true,
    tieWeights: true,
  }, new Rng(1));
  assertThrows(
    () => new AdamW(model.namedParameters(), { lr: 1e-3, lrScale: () => -1 }),
    `AdamW: lrScale of "transformer.`,
    `" must be >= 0, got -1`,
  );
  assertThrows(
    () => loadConfig({ path: "configs/quickstart.jsonc", sets: ["train.layer_lr_decay=1.5"] }),
    "train.layer_lr_decay",
    "a number in (0, 1]",
  );
});
