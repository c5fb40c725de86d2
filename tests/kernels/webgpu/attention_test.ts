import assert from "node:assert/strict";
import {
  attentionBackwardJs,
  attentionForwardJs,
  packedAttentionBackward,
  packedAttentionForward,
} from "../../../lib/kernels/attention.ts";
import {
  attentionBackwardGpu,
  attentionForwardGpu,
  cachedAttentionForwardGpu,
  type GpuMask,
  kvCacheAppendGpu,
  packedAttentionBackwardGpu,
  packedAttentionForwardGpu,
} from "../../../lib/kernels/webgpu/attention.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { KVCache } from "../../../lib/tensor/ops/kvcache.ts";
import { Tensor } from "../../../lib/tensor/tensor.ts";
import { withBackend } from "../../_helpers/backend.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const TOL = 1e-5;

function randn(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

// A random mask with its first row fully blocked (zero probabilities and output there).
function randomMask(Tq: number, Tk: number, rng: Rng): Uint8Array {
  const m = Uint8Array.from({ length: Tq * Tk }, () => (rng.next() < 0.6 ? 1 : 0));
  return m.fill(0, 0, Tk);
}

function dropoutKeep(n: number, rng: Rng | null): Uint8Array | null {
  return rng === null ? null : Uint8Array.from({ length: n }, () => (rng.next() < 0.8 ? 1 : 0));
}

// Query i sees key j iff j ≤ i + Tk − Tq (causalMask's rule; written out, as causalMask fills wrong rows when
// Tq > Tk + 1: a negative fill end counts from the array's end).
function causal(Tq: number, Tk: number): Uint8Array {
  return Uint8Array.from({ length: Tq * Tk }, (_, t) => (t % Tk <= Math.floor(t / Tk) + Tk - Tq ? 1 : 0));
}

// The mask on both sides: the js bytes and the GPU's "causal" or u32 array.
function masks(gpu: Gpu, kind: "causal" | "random", Tq: number, Tk: number, rng: Rng) {
  if (kind === "causal") return { js: causal(Tq, Tk), gpu: "causal" as GpuMask };
  const js = randomMask(Tq, Tk, rng);
  return { js, gpu: gpu.upload(Uint32Array.from(js)) as GpuMask };
}

function check(name: string, got: Float32Array, ref: Float32Array): void {
  const e = relErr(got, ref);
  assert.ok(e <= TOL, `${name}: relErr ${e}`);
}

type PackedCase = [number, number, number, number, "causal" | "random", boolean];

const packedCases: PackedCase[] = [
  // B, H, T, D, mask, dropout
  [2, 2, 1, 8, "causal", false],
  [2, 2, 5, 8, "random", true],
  [1, 3, 70, 16, "causal", true],
  [2, 1, 67, 64, "random", false],
  [1, 2, 9, 10, "causal", false], // D not a multiple of 4: rows padded to vec4s
  [1, 1, 33, 24, "causal", false],
];

// Packed attention forward and backward on `gpu` against the js reference, run twice (the same bits).
async function packedCase(gpu: Gpu, [B, H, T, D, kind, drop]: PackedCase): Promise<void> {
  const rng = new Rng(T * 131 + D);
  const C = H * D, BH = B * H, d = { BH, H, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D) };
  const qkv = randn(B * T * 3 * C, rng), dy = randn(B * T * C, rng);
  const m = masks(gpu, kind, T, T, rng);
  const keep = dropoutKeep(BH * T * T, drop ? rng : null), ks = drop ? 1.25 : 1;
  const probs = new Float32Array(BH * T * T), y = new Float32Array(B * T * C);
  const dqkv = new Float32Array(qkv.length);
  withBackend("js", () => {
    packedAttentionForward(qkv, m.js, probs, y, d, keep, ks);
    packedAttentionBackward(qkv, probs, dy, dqkv, d, keep, ks, m.js);
  });
  const g = {
    qkv: gpu.upload(qkv),
    dy: gpu.upload(dy),
    probs: gpu.array(probs.length),
    y: gpu.array(y.length),
    dqkv: gpu.array(qkv.length),
    keep: keep === null ? null : gpu.upload(Uint32Array.from(keep)),
  };
  const run = async () => {
    packedAttentionForwardGpu(gpu, g.qkv, m.gpu, g.probs, g.y, d, g.keep, ks);
    packedAttentionBackwardGpu(gpu, g.qkv, g.probs, g.dy, g.dqkv, d, g.keep, ks, m.gpu);
    return [await gpu.read(g.probs), await gpu.read(g.y), await gpu.read(g.dqkv)];
  };
  const [gp, gy, gd] = await run();
  check("probs", gp, probs);
  check("y", gy, y);
  check("dqkv", gd, dqkv);
  const again = await run();
  assert.deepEqual(again, [gp, gy, gd], "two runs give the same bits");
}

for (const c of packedCases) {
  const [B, H, T, D, kind, drop] = c;
  gpuTest(
    `webgpu packed attention: B ${B} H ${H} T ${T} D ${D} ${kind}${drop ? " dropout" : ""}`,
    (gpu) => packedCase(gpu, c),
  );
}

gpuTest("webgpu packed attention: batches split over dispatches when a binding is small", async () => {
  // 4,096-byte bindings: qkv holds 3 KiB and probs 2 KiB per batch row, so one batch row per dispatch
  const small = (await Gpu.open({ maxBinding: 4096 }))!;
  try {
    await packedCase(small, [4, 2, 16, 8, "causal", true]);
    assert.equal(
      small.dispatches,
      2 * (4 + 2 * 4),
      "a forward and two backward dispatches per batch row, twice",
    );
    await packedCase(small, [3, 2, 16, 8, "random", false]);
    await small.finish();
  } finally {
    small.destroy();
  }
});

const unpackedCases: [number, number, number, number, "causal" | "random", boolean][] = [
  // BH, Tq, Tk, D, mask, dropout
  [3, 3, 70, 24, "causal", false],
  [2, 70, 5, 8, "causal", true], // the first 65 rows see nothing
  [2, 6, 11, 32, "random", true],
  [1, 1, 1, 8, "random", false], // the single row is blocked
];

for (const [BH, Tq, Tk, D, kind, drop] of unpackedCases) {
  gpuTest(
    `webgpu attention: BH ${BH} Tq ${Tq} Tk ${Tk} D ${D} ${kind}${drop ? " dropout" : ""}`,
    async (gpu) => {
      const rng = new Rng(Tq * 7 + Tk);
      const d = { BH, Tq, Tk, D, scale: 1 / Math.sqrt(D) };
      const q = randn(BH * Tq * D, rng), k = randn(BH * Tk * D, rng), v = randn(BH * Tk * D, rng);
      const dy = randn(BH * Tq * D, rng);
      const m = masks(gpu, kind, Tq, Tk, rng);
      const keep = dropoutKeep(BH * Tq * Tk, drop ? rng : null), ks = drop ? 1.25 : 1;
      const probs = new Float32Array(BH * Tq * Tk), y = new Float32Array(q.length);
      const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
      attentionForwardJs(q, k, v, m.js, probs, y, d, keep, ks);
      attentionBackwardJs(q, k, v, probs, dy, dq, dk, dv, d, keep, ks);
      const [gq, gk, gv, gdy] = [q, k, v, dy].map((a) => gpu.upload(a));
      const gKeep = keep === null ? null : gpu.upload(Uint32Array.from(keep));
      const out = [probs, y, dq, dk, dv].map((a) => gpu.array(a.length));
      attentionForwardGpu(gpu, gq, gk, gv, m.gpu, out[0], out[1], d, gKeep, ks);
      attentionBackwardGpu(gpu, gq, gk, gv, out[0], gdy, out[2], out[3], out[4], d, gKeep, ks, m.gpu);
      const names = ["probs", "y", "dq", "dk", "dv"], refs = [probs, y, dq, dk, dv];
      for (let i = 0; i < out.length; i++) check(names[i], await gpu.read(out[i]), refs[i]);
    },
  );
}

gpuTest("webgpu cached attention: new positions over a KV cache", async (gpu) => {
  const rng = new Rng(5);
  const B = 2, H = 2, D = 16, T = 3, Tk = 9, capacity = 12, C = H * D, BH = B * H;
  const d = { BH, H, Tq: T, Tk, D, scale: 1 / Math.sqrt(D) };
  const qkv = randn(B * T * 3 * C, rng),
    kc = randn(BH * capacity * D, rng),
    vc = randn(BH * capacity * D, rng);
  // the reference: q gathered from qkv, k and v the valid part of the cache, through the unpacked js kernel
  const q = new Float32Array(BH * T * D),
    k = new Float32Array(BH * Tk * D),
    v = new Float32Array(BH * Tk * D);
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H), h = bh % H;
    for (let t = 0; t < T; t++) {
      q.set(qkv.subarray((b * T + t) * 3 * C + h * D, (b * T + t) * 3 * C + h * D + D), (bh * T + t) * D);
    }
    k.set(kc.subarray(bh * capacity * D, (bh * capacity + Tk) * D), bh * Tk * D);
    v.set(vc.subarray(bh * capacity * D, (bh * capacity + Tk) * D), bh * Tk * D);
  }
  const probs = new Float32Array(BH * T * Tk), yh = new Float32Array(BH * T * D);
  attentionForwardJs(q, k, v, causal(T, Tk), probs, yh, d, null, 1);
  const gp = gpu.array(probs.length), gy = gpu.array(B * T * C);
  cachedAttentionForwardGpu(
    gpu,
    gpu.upload(qkv),
    gpu.upload(kc),
    gpu.upload(vc),
    capacity,
    "causal",
    gp,
    gy,
    d,
  );
  check("probs", await gpu.read(gp), probs);
  const got = await gpu.read(gy), y = new Float32Array(got.length);
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H), h = bh % H;
    for (let t = 0; t < T; t++) {
      y.set(yh.subarray((bh * T + t) * D, (bh * T + t + 1) * D), (b * T + t) * C + h * D);
    }
  }
  check("y", got, y);
});

gpuTest("webgpu KV cache append: new positions from qkv, as KVCache.appendPacked", async (gpu) => {
  const rng = new Rng(8);
  const B = 2, H = 3, D = 5, capacity = 7, C = H * D;
  const cache = new KVCache(B, H, capacity, D, "float32");
  const gk = gpu.zeros(B * H * capacity * D), gv = gpu.zeros(B * H * capacity * D);
  for (const T of [3, 1, 2]) {
    const qkv = randn(B * T * 3 * C, rng);
    kvCacheAppendGpu(gpu, gpu.upload(qkv), gk, gv, B, T, H, D, capacity, cache.length);
    cache.appendPacked(new Tensor(qkv, [B, T, 3 * C]));
  }
  assert.deepEqual(await gpu.read(gk), cache.k);
  assert.deepEqual(await gpu.read(gv), cache.v);
  assert.throws(() => kvCacheAppendGpu(gpu, gk, gk, gv, B, 2, H, D, capacity, 6), /KV cache full/);
});
