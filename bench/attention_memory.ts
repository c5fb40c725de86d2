/**
 * Activation memory and time of the standard and the flash attention kernels as the context grows: after the
 * forward (tape on, output kept), how many bytes of typed arrays the op holds for its backward pass
 * (`Deno.memoryUsage().external` before and after; the js backend, so nothing lives in the WASM arena), and the
 * forward + backward time. B = 1, H = 4, D = 64, causal mask.
 *
 *   deno run --allow-read --allow-env --v8-flags=--expose-gc bench/attention_memory.ts [--lengths 128,256,512,1024]
 *
 * Prints one JSON line per context length.
 *
 * @module
 */
import { setBackend } from "../lib/kernels/backend.ts";
import { Rng } from "../lib/random.ts";
import { causalMask, flashSelfAttention, selfAttention } from "../lib/tensor/mod.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";

/** The declaration of `bench/attention_memory.ts`. */
export const ATTENTION_MEMORY = {
  name: "attention_memory",
  run: "deno run --allow-read --allow-env --v8-flags=--expose-gc bench/attention_memory.ts",
  description:
    "Activation memory and time of the standard and the flash attention kernels as the context grows: after the forward, how many bytes of typed arrays the op holds for its backward pass, and the forward + backward time (B = 1, H = 4, D = 64, causal mask, the js backend). One JSON line per context length.",
  positionals: [],
  flags: {
    lengths: {
      type: "string",
      default: "128,256,512,1024",
      value: "LIST",
      description: "context lengths, a comma list of positive integers",
    },
  },
  examples: [
    "deno run --allow-read --allow-env --v8-flags=--expose-gc bench/attention_memory.ts --lengths 128,256,512,1024",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(ATTENTION_MEMORY, ({ values, typed }) => {
    const lengths = values.lengths.split(",").map(Number);
    if (lengths.some((t) => !Number.isInteger(t) || t < 1)) {
      throw new UsageError(
        `${typed("lengths")}: expected a comma list of positive integers, got "${values.lengths}"`,
      );
    }
    const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
    setBackend("js");
    const H = 4, D = 64, C = H * D;
    for (const T of lengths) {
      const rng = new Rng(1);
      const qkv = Tensor.zeros([1, T, 3 * C], "float32", true);
      for (let i = 0; i < qkv.size; i++) qkv.data[i] = rng.normal();
      const record: Record<string, unknown> = { T, B: 1, H, D };
      for (const kind of ["flash", "standard"] as const) record[kind] = measure(kind, qkv, T);
      record.probs_mb = Math.round(((H * T * T * 4) / 1048576) * 100) / 100; // the T×T matrix the standard kernel keeps
      console.log(JSON.stringify(record));
    }

    // One forward (output and tape kept while measuring) and backward of `kind`, in its own frame so nothing of it
    // outlives the call.
    function measure(kind: "standard" | "flash", qkv: Tensor, T: number): Record<string, number> {
      const mask = causalMask(T);
      gc();
      gc();
      const before = Deno.memoryUsage().external;
      const t0 = performance.now();
      const y = kind === "flash" ? flashSelfAttention(qkv, H, mask) : selfAttention(qkv, H, mask);
      const t1 = performance.now();
      gc();
      const held = Deno.memoryUsage().external - before;
      y.backward(new Float32Array(y.size).fill(1e-3));
      const t2 = performance.now();
      qkv.zeroGrad();
      return {
        held_mb: Math.round((held / 1048576) * 100) / 100,
        fwd_ms: Math.round(t1 - t0),
        bwd_ms: Math.round(t2 - t1),
      };
    }
  });
}
