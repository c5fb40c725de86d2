import { tinyConfig } from "../_helpers/models.ts";
import { withArena } from "../../lib/kernels/wasm/runtime.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";
import type { DType } from "../../lib/tensor/tensor.ts";
import { assertAllClose, assertEquals } from "../_helpers/assert.ts";

const CONFIG: GPTConfig = tinyConfig({ nLayer: 3, dropout: 0.1 });

// Loss and every gradient of one forward/backward, with or without activation checkpointing.
function grads(checkpointing: boolean, dtype: DType, variant: Partial<GPTConfig> = {}) {
  const model = new GPT({ ...CONFIG, ...variant, activationCheckpointing: checkpointing }, new Rng(2), dtype);
  const x = Int32Array.from({ length: 16 }, (_, i) => (i * 5 + 1) % 13), y = x.map((v) => (v + 3) % 13);
  return withArena(() => {
    const { loss } = model.forward(x, 2, 8, { targets: y });
    loss!.backward();
    return {
      loss: loss!.item(),
      grads: model.namedParameters(undefined, true).map((p) => p.tensor.grad!.slice()),
      rngAfter: model.dropoutRng.next(), // the generator ends where it would without recomputation
    };
  });
}

for (const dtype of ["float64", "float32"] as const) {
  for (
    const [name, variant] of [["gpt", {}], ["llama", {
      position: "rope",
      norm: "rmsnorm",
      mlp: "swiglu",
    }]] as const
  ) {
    Deno.test(`activation checkpointing (${dtype}, ${name}, dropout 0.1): the same loss and gradients`, () => {
      const plain = grads(false, dtype, variant), ckpt = grads(true, dtype, variant);
      assertEquals(ckpt.loss, plain.loss);
      assertEquals(ckpt.rngAfter, plain.rngAfter);
      for (let i = 0; i < plain.grads.length; i++) {
        assertAllClose(ckpt.grads[i], plain.grads[i], 0, 0, `grad ${i}`);
      }
    });
  }
}
