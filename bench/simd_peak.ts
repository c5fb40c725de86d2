/**
 * What a 128-bit WASM SIMD gemm can reach on this CPU under V8, in three figures (one JSON line):
 *
 * - `fma_peak_gflops`: 12 independent chains of `f32x4.relaxed_madd` on registers, no memory traffic: the
 *   machine's ceiling for 4-lane fused multiply-adds (2 FMA pipes × 4 lanes × 2 flops per cycle).
 * - `kernel_l1_gflops`: the inner loop of our gemm (the 6×8 register block of
 *   `lib/kernels/wasm/assembly/gemm.ts`: 12 accumulators, 2 vector loads of B and 6 broadcasts of A per depth
 *   step) on operands that stay in L1, repeated: what V8's code for that loop can do with no cache misses, no
 *   packing and no edges.
 * - `gemm512_gflops`: the whole `gemm` on the `wasm` backend, 512 × 512 × 512, 1 thread (the issue's reference).
 *
 * When the last is close to the second, the gemm is limited by the code V8 generates for its inner loop, not by
 * memory or packing. The two small kernels are compiled here, at run time, with the project's pinned
 * AssemblyScript (so this needs `-A`: it runs the compiler and writes a temporary directory):
 *
 * ```sh
 * deno run -A bench/simd_peak.ts [--rounds 5]
 * ```
 *
 * @module
 */
import { setBackend } from "../lib/kernels/backend.ts";
import { gemm } from "../lib/kernels/matmul.ts";
import { setThreads } from "../lib/kernels/wasm/pool.ts";
import { round } from "./_common.ts";
import { type Command, runMain } from "../lib/experiment/cli/_command.ts";

const ASC = "npm:assemblyscript@0.28.20/asc";

// The 6×8 loop is the same instruction sequence as gemm.ts's `block` (kept in step by hand: it is a measurement).
const SOURCE = `
@inline function fma(a: v128, b: v128, c: v128): v128 { return f32x4.relaxed_madd(a, b, c); }
export function fma_peak(iters: i32, xs: f32, ys: f32): f32 {
  let a0 = f32x4.splat(1), a1 = f32x4.splat(1), a2 = f32x4.splat(1), a3 = f32x4.splat(1);
  let a4 = f32x4.splat(1), a5 = f32x4.splat(1), a6 = f32x4.splat(1), a7 = f32x4.splat(1);
  let a8 = f32x4.splat(1), a9 = f32x4.splat(1), a10 = f32x4.splat(1), a11 = f32x4.splat(1);
  const x = f32x4.splat(xs), y = f32x4.splat(ys);
  for (let i = 0; i < iters; i++) {
    a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);
    a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);
    a8 = fma(a8, x, y); a9 = fma(a9, x, y); a10 = fma(a10, x, y); a11 = fma(a11, x, y);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}
export function kernel_l1(Q: usize, P: usize, K: i32, reps: i32, out: usize): void {
  for (let r = 0; r < reps; r++) {
    let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x10 = f32x4.splat(0), x11 = f32x4.splat(0);
    let x20 = f32x4.splat(0), x21 = f32x4.splat(0), x30 = f32x4.splat(0), x31 = f32x4.splat(0);
    let x40 = f32x4.splat(0), x41 = f32x4.splat(0), x50 = f32x4.splat(0), x51 = f32x4.splat(0);
    let b = P;
    const qEnd = Q + (<usize>K << 5);
    for (let q = Q; q < qEnd; q += 32) {
      const b0 = v128.load(b), b1 = v128.load(b + 16);
      let a = v128.load32_splat(q);
      x00 = fma(a, b0, x00); x01 = fma(a, b1, x01);
      a = v128.load32_splat(q + 4);
      x10 = fma(a, b0, x10); x11 = fma(a, b1, x11);
      a = v128.load32_splat(q + 8);
      x20 = fma(a, b0, x20); x21 = fma(a, b1, x21);
      a = v128.load32_splat(q + 12);
      x30 = fma(a, b0, x30); x31 = fma(a, b1, x31);
      a = v128.load32_splat(q + 16);
      x40 = fma(a, b0, x40); x41 = fma(a, b1, x41);
      a = v128.load32_splat(q + 20);
      x50 = fma(a, b0, x50); x51 = fma(a, b1, x51);
      b += 32;
    }
    const s = f32x4.add(f32x4.add(f32x4.add(x00, x01), f32x4.add(x10, x11)), f32x4.add(f32x4.add(x20, x21), f32x4.add(x30, x31)));
    v128.store(out, f32x4.add(s, f32x4.add(f32x4.add(x40, x41), f32x4.add(x50, x51))));
  }
}
`;

interface Probe {
  fma_peak(iters: number, x: number, y: number): number;
  kernel_l1(q: number, p: number, k: number, reps: number, out: number): void;
  memory: WebAssembly.Memory;
}

async function compileProbe(): Promise<Probe> {
  const dir = await Deno.makeTempDir({ prefix: "simd_peak_" });
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, SOURCE);
    const flags = ["-O3", "--enable", "simd", "--enable", "relaxed-simd", "--runtime", "stub"];
    const res = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ASC,
        `${dir}/probe.ts`,
        "--outFile",
        `${dir}/probe.wasm`,
        "--initialMemory",
        "2",
        ...flags,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!res.success) throw new Error("simd_peak: the AssemblyScript compiler failed");
    const { instance } = await WebAssembly.instantiate(await Deno.readFile(`${dir}/probe.wasm`), {
      env: { abort() {} },
    });
    return instance.exports as unknown as Probe;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The declaration of `bench/simd_peak.ts`. */
export const SIMD_PEAK = {
  name: "simd_peak",
  run: "deno run -A bench/simd_peak.ts",
  description:
    "What a 128-bit WASM SIMD gemm can reach on this CPU under V8, in three figures (one JSON line): the FMA peak on registers, the inner loop of our gemm on operands in L1, and the whole 512 × 512 × 512 gemm on the wasm backend, 1 thread. Compiles two small kernels with the pinned AssemblyScript at run time (so it needs -A).",
  positionals: [],
  flags: {
    rounds: { type: "integer", min: 1, default: 5, description: "rounds; each figure is its best round" },
  },
  examples: [
    "deno run -A bench/simd_peak.ts --rounds 5",
  ],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(SIMD_PEAK, async ({ values }) => {
    const rounds = values.rounds;
    const probe = await compileProbe();

    // The three are timed in turn within each round, so a change in machine load hits them alike; each figure is its
    // best round. Every kernel is warmed up first, past V8's baseline tier.
    const K = 256, Q = 0, P = 16384, OUT = 32768; // the 6×8 block's operands: depth 256, 8 KB each, in L1
    const f = new Float32Array(probe.memory.buffer, 0, OUT / 4);
    for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 1000) / 1000;
    setBackend("wasm");
    setThreads(1);
    const n = 512; // the whole gemm: ordinary arrays, copied in and out as in kernels_bench's [wasm] cases
    const A = new Float32Array(n * n).map((_, i) => ((i * 31) % 97) / 97 - 0.5);
    const B = new Float32Array(n * n).map((_, i) => ((i * 17) % 89) / 89 - 0.5);
    const C = new Float32Array(n * n);
    const gemm512 = () =>
      gemm({
        transA: false,
        transB: false,
        M: n,
        N: n,
        K: n,
        A,
        aOff: 0,
        B,
        bOff: 0,
        C,
        cOff: 0,
        accumulate: false,
      });
    for (let i = 0; i < 100; i++) probe.fma_peak(1000, 0.999999, 1e-6);
    for (let i = 0; i < 100; i++) probe.kernel_l1(Q, P, K, 10, OUT);
    for (let i = 0; i < 40; i++) gemm512();

    /** GFLOP/s of one timed run of `fn`, which does `flops` floating-point operations. */
    function gflops(flops: number, fn: () => void): number {
      const t = performance.now();
      fn();
      return flops / ((performance.now() - t) * 1e6);
    }
    let fmaPeak = 0, kernelL1 = 0, gemmBest = 0;
    for (let r = 0; r < rounds; r++) {
      const iters = 2e7, reps = 2e4;
      fmaPeak = Math.max(fmaPeak, gflops(iters * 12 * 8, () => probe.fma_peak(iters, 0.999999, 1e-6)));
      kernelL1 = Math.max(kernelL1, gflops(reps * K * 12 * 8, () => probe.kernel_l1(Q, P, K, reps, OUT)));
      for (let i = 0; i < 10; i++) gemmBest = Math.max(gemmBest, gflops(2 * n * n * n, gemm512));
    }
    console.log(JSON.stringify({
      fma_peak_gflops: round(fmaPeak, 1),
      kernel_l1_gflops: round(kernelL1, 1),
      gemm512_gflops: round(gemmBest, 1),
      gemm_of_kernel: round(gemmBest / kernelL1, 3),
      kernel_of_peak: round(kernelL1 / fmaPeak, 3),
      rounds,
      deno: Deno.version.deno,
    }));
  });
}
