/**
 * Activation memory and time of the standard and the flash attention kernels as the context grows: after the
 * forward (tape on, output kept), how many bytes of typed arrays the op holds for its backward pass
 * (`Deno.memoryUsage().external` before and after; no arena scope, so the op's storage is ordinary arrays), and
 * the median forward and backward times of five passes after a warm-up pass. B = 1, H = 4, D = 64, causal mask,
 * one kernel thread, on the WASM SIMD kernels (`--backend wasm`, the default) or the plain TypeScript loops
 * (`--backend js`).
 *
 *   deno run --allow-read --allow-env --v8-flags=--expose-gc bench/attention_memory.ts [--lengths 128,256,512,1024]
 *
 * Prints one JSON line per context length.
 *
 * @module
 */
import { setBackend } from "../lib/kernels/backend.ts";
import { setThreads } from "../lib/kernels/wasm/pool.ts";
import { Rng } from "../lib/random.ts";
import { causalMask, flashSelfAttention, selfAttention } from "../lib/tensor/mod.ts";
import { Tensor } from "../lib/tensor/tensor.ts";
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";

/** Timed forward + backward passes per kernel and length (the median is reported). */
const REPS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** The declaration of `bench/attention_memory.ts`. */
export const ATTENTION_MEMORY = {
  name: "attention_memory",
  run: "deno run --allow-read --allow-env --v8-flags=--expose-gc bench/attention_memory.ts",
  description:
    "Activation memory and time of the standard and the flash attention kernels as the context grows: after the forward, how many bytes of typed arrays the op holds for its backward pass, and the median forward and backward times of five passes after a warm-up pass (B = 1, H = 4, D = 64, causal mask, one kernel thread). One JSON line per context length.",
  positionals: [],
  flags: {
    lengths: {
      type: "string",
      default: "128,256,512,1024",
      value: "LIST",
      description: "context lengths, a comma list of positive integers",
    },
    backend: {
      type: "string",
      default: "wasm",
      choices: ["wasm", "js"],
      value: "NAME",
      description: "kernel backend: the WASM SIMD kernels or the plain TypeScript loops",
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
    setBackend(values.backend);
    setThreads(1);
    const H = 4, D = 64, C = H * D;
    for (const T of lengths) {
      const rng = new Rng(1);
      const qkv = Tensor.zeros([1, T, 3 * C], "float32", true);
      for (let i = 0; i < qkv.size; i++) qkv.data[i] = rng.normal();
      const record: Record<string, unknown> = { T, B: 1, H, D, backend: values.backend };
      for (const kind of ["flash", "standard"] as const) record[kind] = measure(kind, qkv, T);
      record.probs_mb = Math.round(((H * T * T * 4) / 1048576) * 100) / 100; // the T×T matrix the standard kernel keeps
      console.log(JSON.stringify(record));
    }

    // What `kind` holds for its backward (one forward, output and tape kept, measured between forced GCs), and
    // the median forward and backward times of REPS passes after a warm-up pass (compiled code, the kernels'
    // scratch grown); in its own frame so nothing of it outlives the call.
    function measure(kind: "standard" | "flash", qkv: Tensor, T: number): Record<string, number> {
      const mask = causalMask(T);
      const attend = () => kind === "flash" ? flashSelfAttention(qkv, H, mask) : selfAttention(qkv, H, mask);
      const dy = new Float32Array(qkv.size / 3).fill(1e-3);
      attend().backward(dy);
      qkv.zeroGrad();
      gc();
      gc();
      const before = Deno.memoryUsage().external;
      const y = attend();
      gc();
      const held = Deno.memoryUsage().external - before;
      y.backward(dy);
      qkv.zeroGrad();
      const fwd: number[] = [], bwd: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const t0 = performance.now();
        const out = attend();
        const t1 = performance.now();
        out.backward(dy);
        fwd.push(t1 - t0);
        bwd.push(performance.now() - t1);
        qkv.zeroGrad();
      }
      return {
        held_mb: Math.round((held / 1048576) * 100) / 100,
        fwd_ms: Math.round(median(fwd) * 10) / 10,
        bwd_ms: Math.round(median(bwd) * 10) / 10,
      };
    }
  });
}
