/**
 * GFLOP/s of the WebGPU gemm and GB/s of the bias kernels, on the default adapter (one JSON line per case,
 * after one line naming the adapter and the timer):
 *
 * ```sh
 * deno run --unstable-webgpu -A bench/webgpu_kernels.ts                        # 256³ and 1024×1024×256: fine on lavapipe
 * deno run --unstable-webgpu -A bench/webgpu_kernels.ts --sizes 4096 --layouts NN,NT,TN --rows 8192
 * ```
 *
 * Each case runs once to compile its pipeline, then `--rounds` times `--reps` calls; its figure is the best
 * round. Time comes from the GPU's timestamps ({@link Gpu.timed}) where the device has `timestamp-query`, else
 * from the wall clock around the calls and `await gpu.finish()` (which then includes the submission).
 *
 * @module
 */
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { addRowsGpu, addVecGpu, sumRowsGpu } from "../lib/kernels/webgpu/bias.ts";
import { gemmGpu, gemmTile, TILE_128, TILE_16, TILE_64 } from "../lib/kernels/webgpu/matmul.ts";
import { Gpu, gpuUnavailableReason } from "../lib/kernels/webgpu/runtime.ts";
import type { GpuArray } from "../lib/kernels/webgpu/runtime.ts";
import { round } from "./_common.ts";

/** The command: its flags and help (docs/cli.md). */
export const WEBGPU_KERNELS = {
  name: "webgpu_kernels",
  run: "deno run --unstable-webgpu -A bench/webgpu_kernels.ts",
  description:
    "GFLOP/s of the WebGPU gemm and GB/s of the bias kernels (addRows, addVec, sumRows) on the default adapter, one JSON line per case after a line naming the adapter, whether it is software, and the timer (GPU timestamps where the device has timestamp-query, else the wall clock). Needs --unstable-webgpu; without an adapter it says why and exits.",
  positionals: [],
  flags: {
    sizes: {
      type: "string",
      default: "256,1024x1024x256",
      value: "LIST",
      description: "gemm shapes, comma-separated: N for N³, or MxNxK",
    },
    layouts: {
      type: "string",
      default: "NN",
      value: "LIST",
      description:
        "gemm layouts, comma-separated from NN, NT, TN, TT (Linear: NT forward, NN and TN backward)",
    },
    tile: {
      type: "string",
      choices: ["auto", "16", "64", "128"],
      default: "auto",
      description: "gemm tile: 16×64, 64×64, 128×128, or as gemmGpu picks",
    },
    rows: {
      type: "integer",
      min: 1,
      default: 1024,
      description: "rows of the bias kernels' (rows, width) arrays",
    },
    width: { type: "integer", min: 1, default: 768, description: "width of the bias kernels' arrays" },
    reps: { type: "integer", min: 1, default: 2, description: "calls per timed round" },
    rounds: { type: "integer", min: 1, default: 3, description: "rounds; each figure is its best round" },
  },
  examples: [
    "deno run --unstable-webgpu -A bench/webgpu_kernels.ts",
    "deno run --unstable-webgpu -A bench/webgpu_kernels.ts --sizes 512 --layouts NT --tile 64",
  ],
} as const satisfies Command;

const TILES = { "16": TILE_16, "64": TILE_64, "128": TILE_128 } as const;

/** `N` or `MxNxK` as [M, N, K]. */
function parseSize(text: string, flag: string): [number, number, number] {
  const parts = text.split("x").map(Number);
  if (!parts.every((v) => Number.isInteger(v) && v > 0) || (parts.length !== 1 && parts.length !== 3)) {
    throw new UsageError(`${flag}: "${text}" is not N or MxNxK`);
  }
  return parts.length === 1 ? [parts[0], parts[0], parts[0]] : [parts[0], parts[1], parts[2]];
}

/** An array of `n` floats with a fixed pattern in [−0.5, 0.5). */
function filled(gpu: Gpu, n: number): GpuArray {
  return gpu.upload(Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5));
}

if (import.meta.main) {
  await runMain(WEBGPU_KERNELS, async ({ values, typed }) => {
    const sizes = values.sizes.split(",").map((s) => parseSize(s.trim(), typed("sizes")));
    const layouts = values.layouts.split(",").map((s) => s.trim().toUpperCase());
    for (const l of layouts) {
      if (!["NN", "NT", "TN", "TT"].includes(l)) {
        throw new UsageError(`${typed("layouts")}: unknown layout "${l}"`);
      }
    }
    const gpu = await Gpu.open();
    if (gpu === null) {
      console.error(
        `webgpu_kernels: no WebGPU adapter (${gpuUnavailableReason() ?? "none found"}); nothing to measure`,
      );
      return;
    }
    const timer = gpu.info.timestamps ? "gpu timestamps" : "wall clock";
    console.log(
      JSON.stringify({ adapter: gpu.info.name, software: gpu.info.software, timer, deno: Deno.version.deno }),
    );

    /** Best seconds per call over the rounds, after one untimed call. */
    async function best(call: () => void): Promise<number> {
      call();
      await gpu!.finish();
      let s = Infinity;
      for (let r = 0; r < values.rounds; r++) {
        const t = performance.now();
        const ns = await gpu!.timed(() => {
          for (let i = 0; i < values.reps; i++) call();
        });
        s = Math.min(s, (ns ?? (performance.now() - t) * 1e6) / 1e9 / values.reps);
      }
      return s;
    }

    for (const [M, N, K] of sizes) {
      const tile = values.tile === "auto" ? gemmTile(M, N) : TILES[values.tile];
      const A = filled(gpu, M * K), B = filled(gpu, K * N), C = gpu.array(M * N);
      for (const layout of layouts) {
        const args = {
          M,
          N,
          K,
          transA: layout[0] === "T",
          transB: layout[1] === "T",
          A,
          B,
          C,
          aOff: 0,
          bOff: 0,
          cOff: 0,
          accumulate: false,
        };
        const s = await best(() => gemmGpu(gpu, args, tile));
        console.log(JSON.stringify({
          kernel: `gemm ${layout}`,
          shape: `${M}x${N}x${K}`,
          tile: `${16 * tile.tm}x${16 * tile.tn}`,
          ms: round(s * 1e3, 3),
          gflops: round((2 * M * N * K) / s / 1e9, 2),
        }));
      }
      for (const a of [A, B, C]) gpu.release(a);
    }

    const { rows, width } = values;
    const x = filled(gpu, rows * width), y = filled(gpu, rows * width), out = gpu.array(rows * width);
    const b = filled(gpu, width), sums = gpu.zeros(width);
    const f = 4; // bytes per float
    const cases: [string, number, () => void][] = [
      ["addRows", (2 * rows * width + width) * f, () => addRowsGpu(gpu, x, b, out, rows, width)],
      ["addVec", 3 * rows * width * f, () => addVecGpu(gpu, x, y, out, rows * width)],
      ["sumRows", (rows * width + 2 * width) * f, () => sumRowsGpu(gpu, x, rows, width, sums)],
    ];
    for (const [kernel, bytes, call] of cases) {
      const s = await best(call);
      console.log(JSON.stringify({
        kernel,
        shape: `${rows}x${width}`,
        ms: round(s * 1e3, 3),
        gbps: round(bytes / s / 1e9, 2),
      }));
    }
    gpu.destroy();
  });
}
