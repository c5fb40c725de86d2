import assert from "node:assert/strict";
import { gemmJs } from "../../../lib/kernels/matmul.ts";
import type { GemmTile } from "../../../lib/kernels/webgpu/matmul.ts";
import { gemmBatchedGpu, gemmGpu, TILE_128, TILE_16, TILE_64 } from "../../../lib/kernels/webgpu/matmul.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const TOL = 1e-5;
const LAYOUTS: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

function rand(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

interface Case {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  aOff: number;
  bOff: number;
  cOff: number;
}

/** Runs one product on `gpu` and on gemmJs; returns the GPU's C (the whole array) after checking it. */
async function check(gpu: Gpu, c: Case, rng: Rng, tile?: GemmTile): Promise<Float32Array> {
  const A = rand(c.aOff + c.M * c.K + 3, rng), B = rand(c.bOff + c.K * c.N + 5, rng);
  const C = rand(c.cOff + c.M * c.N + 2, rng);
  const ref = C.slice();
  gemmJs({ ...c, A, B, C: ref });
  const gA = gpu.upload(A), gB = gpu.upload(B), gC = gpu.upload(C);
  gemmGpu(gpu, { ...c, A: gA, B: gB, C: gC }, tile);
  const got = await gpu.read(gC);
  const e = relErr(got, ref);
  const what = `${c.transA ? "T" : "N"}${c.transB ? "T" : "N"} ${c.M}×${c.N}×${c.K}` +
    ` off ${c.aOff}/${c.bOff}/${c.cOff}${c.accumulate ? " acc" : ""}`;
  assert.ok(e <= TOL, `${what}: relErr ${e}`);
  for (const a of [gA, gB, gC]) gpu.release(a);
  return got;
}

// tile edges (63, 65, 129), M = 1, N = 1, K = 1, K not a multiple of the slice depth, K = 0
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 70, 33],
  [65, 1, 17],
  [67, 129, 1],
  [100, 75, 130],
  [130, 63, 9],
  [5, 6, 0],
];

for (const [name, tile] of [["16×64", TILE_16], ["64×64", TILE_64], ["128×128", TILE_128]] as const) {
  gpuTest(
    `webgpu gemm (${name} tiles) equals gemmJs: four layouts, edge shapes, offsets, accumulate`,
    async (gpu) => {
      const rng = new Rng(tile.tm);
      for (const [transA, transB] of LAYOUTS) {
        for (const [M, N, K] of SHAPES) {
          for (const accumulate of [false, true]) {
            const off = accumulate ? [5, 7, 3] : [0, 0, 0];
            await check(
              gpu,
              { M, N, K, transA, transB, accumulate, aOff: off[0], bOff: off[1], cOff: off[2] },
              rng,
              tile,
            );
          }
        }
      }
    },
  );
}

gpuTest("webgpu gemm: two runs give the same bits", async (gpu) => {
  const c: Case = {
    M: 70,
    N: 90,
    K: 300,
    transA: false,
    transB: true,
    accumulate: true,
    aOff: 1,
    bOff: 2,
    cOff: 3,
  };
  const first = await check(gpu, c, new Rng(3));
  assert.deepEqual(await check(gpu, c, new Rng(3)), first);
});

gpuTest("webgpu gemm splits operands larger than one binding (a 4 KiB cap): every layout", async () => {
  const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 floats per binding
  assert.ok(small !== null);
  try {
    const rng = new Rng(4);
    // A, B and C each larger than a binding; K = 1,500 cannot fit one row of A in a binding
    const shapes: [number, number, number][] = [[50, 45, 40], [3, 70, 1500]];
    for (const [transA, transB] of LAYOUTS) {
      for (const [M, N, K] of shapes) {
        const accumulate = K > 100;
        const off = accumulate ? [70, 3, 129] : [0, 0, 0];
        const before = small.dispatches;
        await check(
          small,
          { M, N, K, transA, transB, accumulate, aOff: off[0], bOff: off[1], cOff: off[2] },
          rng,
        );
        assert.ok(small.dispatches - before > 1, "split into pieces");
      }
    }
    const c: Case = {
      M: 50,
      N: 45,
      K: 40,
      transA: true,
      transB: true,
      accumulate: true,
      aOff: 0,
      bOff: 0,
      cOff: 0,
    };
    assert.deepEqual(await check(small, c, new Rng(5)), await check(small, c, new Rng(5)), "same bits");
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu gemm at GPT-2-small's tied head (50,257 × 768 floats: larger than 128 MiB)", async (gpu) => {
  const rng = new Rng(6);
  const T = 3, V = 50257, D = 768;
  const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5); // faster than normal()
  const W = uniform(V * D), X = uniform(T * D), G = uniform(T * V);
  const gW = gpu.upload(W), gX = gpu.upload(X), gG = gpu.upload(G);
  const base = { aOff: 0, bOff: 0, cOff: 0, accumulate: false };
  // logits = X · Wᵀ (NT), dX = G · W (NN), dW = Gᵀ · X (TN)
  const runs = [
    { M: T, N: V, K: D, transA: false, transB: true, A: X, B: W, gA: gX, gB: gW },
    { M: T, N: D, K: V, transA: false, transB: false, A: G, B: W, gA: gG, gB: gW },
    { M: V, N: D, K: T, transA: true, transB: false, A: G, B: X, gA: gG, gB: gX },
  ];
  for (const r of runs) {
    const ref = new Float32Array(r.M * r.N);
    gemmJs({ ...base, ...r, A: r.A, B: r.B, C: ref });
    const gC = gpu.array(r.M * r.N);
    const before = gpu.dispatches;
    gemmGpu(gpu, { ...base, ...r, A: r.gA, B: r.gB, C: gC });
    assert.ok(gpu.dispatches - before > 1, "split into pieces");
    const e = relErr(await gpu.read(gC), ref);
    assert.ok(e <= TOL, `${r.transA ? "T" : "N"}${r.transB ? "T" : "N"} ${r.M}×${r.N}×${r.K}: relErr ${e}`);
    gpu.release(gC);
  }
  for (const a of [gW, gX, gG]) gpu.release(a);
});

gpuTest(
  "webgpu batched gemm equals gemmJs per product: one dispatch, and per product past a binding",
  async () => {
    const small = await Gpu.open({ maxBinding: 4096 });
    assert.ok(small !== null);
    try {
      const rng = new Rng(7);
      for (const [M, N, K, count] of [[5, 7, 9, 3], [40, 30, 20, 2]]) { // fits one binding; does not
        for (const [transA, transB] of LAYOUTS) {
          const strideA = M * K + 2, strideB = K * N + 1, strideC = M * N + 3;
          const A = rand(4 + count * strideA, rng),
            B = rand(count * strideB, rng),
            C = rand(1 + count * strideC, rng);
          const ref = C.slice();
          for (let i = 0; i < count; i++) {
            const offs = { aOff: 4 + i * strideA, bOff: i * strideB, cOff: 1 + i * strideC };
            gemmJs({ M, N, K, transA, transB, accumulate: true, A, B, C: ref, ...offs });
          }
          const gA = small.upload(A), gB = small.upload(B), gC = small.upload(C);
          const before: number = small.dispatches;
          const args = {
            M,
            N,
            K,
            transA,
            transB,
            accumulate: true,
            A: gA,
            B: gB,
            C: gC,
            aOff: 4,
            bOff: 0,
            cOff: 1,
          };
          gemmBatchedGpu(small, args, { count, strideA, strideB, strideC });
          if (M === 5) assert.equal(small.dispatches - before, 1);
          const e = relErr(await small.read(gC), ref);
          assert.ok(e <= TOL, `batched ${M}×${N}×${K}×${count}: relErr ${e}`);
          for (const a of [gA, gB, gC]) small.release(a);
        }
      }
    } finally {
      small.destroy();
    }
  },
);
