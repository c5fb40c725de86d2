import assert from "node:assert/strict";
import {
  biasedAttentionBackward,
  biasedAttentionForward,
  relativeBiasGather,
  relativeBiasScatter,
  relativePositionBuckets,
} from "../../../lib/kernels/relpos.ts";
import type { GpuMask } from "../../../lib/kernels/webgpu/attention.ts";
import {
  biasedAttentionBackwardGpu,
  biasedAttentionForwardGpu,
  relativeBiasGatherGpu,
  relativeBiasScatterGpu,
} from "../../../lib/kernels/webgpu/relpos.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { withBackend } from "../../_helpers/backend.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const TOL = 1e-5;

function randn(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function check(name: string, got: Float32Array, ref: Float32Array): void {
  const e = relErr(got, ref);
  assert.ok(e <= TOL, `${name}: relErr ${e}`);
}

gpuTest("webgpu relative bias: gather and the deterministic scatter-add", async (gpu) => {
  const rng = new Rng(3);
  const H = 3, Tq = 40, Tk = 50, numBuckets = 32, n = Tq * Tk;
  const buckets = relativePositionBuckets(Tq, Tk, { bidirectional: true, numBuckets, maxDistance: 20 });
  const w = randn(numBuckets * H, rng), g = randn(H * n, rng), gw = randn(numBuckets * H, rng);
  const out = new Float32Array(H * n), gwRef = gw.slice();
  relativeBiasGather(w, buckets, out, H, n);
  relativeBiasScatter(g, buckets, gwRef, H, n);
  const gb = gpu.upload(buckets), gg = gpu.upload(g), gout = gpu.array(H * n);
  relativeBiasGatherGpu(gpu, gpu.upload(w), gb, gout, H, n);
  assert.deepEqual(await gpu.read(gout), out);
  const scatter = async () => {
    const ggw = gpu.upload(gw);
    relativeBiasScatterGpu(gpu, gg, gb, ggw, H, n);
    return await gpu.read(ggw);
  };
  const got = await scatter();
  check("gw", got, gwRef);
  assert.deepEqual(await scatter(), got, "two runs give the same bits");
});

type BiasedCase = [
  number,
  number,
  number,
  number,
  number,
  boolean,
  "causal" | "random" | null,
  number[] | null,
  boolean,
];

// Biased attention forward and backward on `gpu` against the js reference, run twice (the same bits).
async function biasedCase(
  gpu: Gpu,
  [B, H, Tq, Tk, D, withBias, kind, lens, drop]: BiasedCase,
): Promise<void> {
  const rng = new Rng(Tq * 13 + Tk);
  const dims = { B, H, Tq, Tk, D, scale: 1 / Math.sqrt(D) }, BH = B * H;
  const q = randn(BH * Tq * D, rng), k = randn(BH * Tk * D, rng), v = randn(BH * Tk * D, rng);
  const g = randn(q.length, rng), bias = withBias ? randn(H * Tq * Tk, rng) : null;
  const db0 = randn(H * Tq * Tk, rng);
  let md: Uint8Array | null = null, gm: GpuMask | null = null;
  if (kind === "causal") {
    md = Uint8Array.from({ length: Tq * Tk }, (_, t) => (t % Tk <= Math.floor(t / Tk) + Tk - Tq ? 1 : 0));
    gm = "causal";
  } else if (kind === "random") {
    md = Uint8Array.from({ length: Tq * Tk }, () => (rng.next() < 0.6 ? 1 : 0)).fill(0, 0, Tk);
    gm = gpu.upload(Uint32Array.from(md));
  }
  const lengths = lens === null ? null : Int32Array.from(lens);
  const keep = drop ? Uint8Array.from({ length: BH * Tq * Tk }, () => (rng.next() < 0.8 ? 1 : 0)) : null;
  const ks = drop ? 1.25 : 1;
  const probs = new Float32Array(BH * Tq * Tk), y = new Float32Array(q.length);
  const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
  const db = db0.slice();
  withBackend("js", () => {
    biasedAttentionForward(q, k, v, bias, md, lengths, probs, y, dims, keep, ks);
    biasedAttentionBackward(q, k, v, probs, g, dq, dk, dv, db, lengths, dims, keep, ks, md);
  });
  const [gq, gk, gv, gg] = [q, k, v, g].map((a) => gpu.upload(a));
  const gb = bias === null ? null : gpu.upload(bias), gl = lengths === null ? null : gpu.upload(lengths);
  const gKeep = keep === null ? null : gpu.upload(Uint32Array.from(keep));
  const out = [probs, y, dq, dk, dv].map((a) => gpu.array(a.length));
  const run = async () => {
    const gdb = gpu.upload(db0);
    biasedAttentionForwardGpu(gpu, gq, gk, gv, gb, gm, gl, out[0], out[1], dims, gKeep, ks);
    biasedAttentionBackwardGpu(
      gpu,
      gq,
      gk,
      gv,
      out[0],
      gg,
      out[2],
      out[3],
      out[4],
      gdb,
      gl,
      dims,
      gKeep,
      ks,
      gm,
    );
    return await Promise.all([...out, gdb].map((a) => gpu.read(a)));
  };
  const got = await run();
  const refs = [probs, y, dq, dk, dv, db], names = ["probs", "y", "dq", "dk", "dv", "db"];
  for (let i = 0; i < refs.length; i++) check(names[i], got[i], refs[i]);
  assert.deepEqual(await run(), got, "two runs give the same bits");
}

const cases: BiasedCase[] = [
  // B, H, Tq, Tk, D, bias, mask, lengths, dropout
  [2, 3, 5, 7, 8, true, "random", [7, 3], true],
  [1, 2, 70, 70, 16, true, "causal", null, false],
  [2, 2, 1, 9, 32, false, null, [0, 4], false], // batch row 0 sees nothing
  [2, 1, 6, 66, 24, true, null, [66, 65], true],
];

for (const c of cases) {
  const [B, H, Tq, Tk, D, withBias, kind, lens, drop] = c;
  const name = `webgpu biased attention: B ${B} H ${H} Tq ${Tq} Tk ${Tk} D ${D}` +
    `${withBias ? " bias" : ""} ${kind ?? "no mask"}${lens === null ? "" : " lengths"}${
      drop ? " dropout" : ""
    }`;
  gpuTest(name, (gpu) => biasedCase(gpu, c));
}

gpuTest("webgpu biased attention: batches split over dispatches when a binding is small", async () => {
  // 1,024-byte bindings: q and probs hold 512 bytes per batch row, so two batch rows per dispatch
  const small = (await Gpu.open({ maxBinding: 1024 }))!;
  try {
    await biasedCase(small, [3, 2, 8, 8, 8, true, "random", [8, 5, 3], true]);
    assert.equal(
      small.dispatches,
      2 * (2 + 2 * 3),
      "two chunks: a forward and three backward dispatches each, twice",
    );
    await small.finish();
  } finally {
    small.destroy();
  }
});
