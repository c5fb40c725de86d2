import assert from "node:assert/strict";
import { stridedCopyGpu } from "../../../lib/kernels/webgpu/strided.ts";
import { Rng } from "../../../lib/random.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";

// The reference: the same loops on the host.
function stridedCopy(
  shape: readonly number[],
  src: Float32Array,
  s: readonly number[],
  so: number,
  dst: Float32Array,
  t: readonly number[],
  to: number,
): void {
  const n = shape.reduce((a, b) => a * b, 1), idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k] = r % shape[k];
      r = Math.floor(r / shape[k]);
    }
    const at = (st: readonly number[], off: number) => idx.reduce((a, v, k) => a + v * st[k], off);
    dst[at(t, to)] = src[at(s, so)];
  }
}

gpuTest(
  "webgpu stridedCopy moves heads into a cache, expands grouped heads, leaves the rest untouched",
  async (gpu) => {
    const rng = new Rng(3);
    // (B, H, T, D) heads of a fused (B, T, 3C) projection into a (B, H, capacity, D) cache at position 2;
    // a grouped cache (B, H, L, D) expanded to (B, H, group, L, D) with a zero stride; 1-D and one-element shapes
    const B = 2, H = 3, T = 5, D = 7, cap = 9, C = H * D, group = 2, L = 4;
    const cases: {
      shape: number[];
      n: [number, number];
      s: number[];
      so: number;
      t: number[];
      to: number;
    }[] = [
      {
        shape: [B, H, T, D],
        n: [B * T * 3 * C, B * H * cap * D],
        s: [T * 3 * C, D, 3 * C, 1],
        so: C,
        t: [H * cap * D, cap * D, D, 1],
        to: 2 * D,
      },
      {
        shape: [B, H, group, L, D],
        n: [B * H * cap * D, B * H * group * L * D],
        s: [H * cap * D, cap * D, 0, D, 1],
        so: 0,
        t: [H * group * L * D, group * L * D, L * D, D, 1],
        to: 0,
      },
      { shape: [300], n: [700, 1000], s: [2], so: 1, t: [3], to: 0 },
      { shape: [1, 1], n: [1, 1], s: [1, 1], so: 0, t: [1, 1], to: 0 },
    ];
    for (const c of cases) {
      const src = Float32Array.from({ length: c.n[0] }, () => rng.normal());
      const before = Float32Array.from({ length: c.n[1] }, () => rng.normal());
      const ref = before.slice();
      stridedCopy(c.shape, src, c.s, c.so, ref, c.t, c.to);
      const gs = gpu.upload(src), gd = gpu.upload(before);
      stridedCopyGpu(gpu, c.shape, { a: gs, strides: c.s, offset: c.so }, {
        a: gd,
        strides: c.t,
        offset: c.to,
      });
      assert.deepEqual(await gpu.read(gd), ref, `shape [${c.shape}]`);
      gpu.release(gs);
      gpu.release(gd);
    }
  },
);

gpuTest("webgpu stridedCopy refuses a shape past the end, too many dims and a shared buffer", (gpu) => {
  const a = gpu.zeros(10), b = gpu.zeros(10);
  assert.throws(
    () => stridedCopyGpu(gpu, [11], { a, strides: [1], offset: 0 }, { a: b, strides: [1], offset: 0 }),
    /past the end/,
  );
  const six = [1, 1, 1, 1, 1, 1];
  assert.throws(
    () => stridedCopyGpu(gpu, six, { a, strides: six, offset: 0 }, { a: b, strides: six, offset: 0 }),
    /at most 5 dims/,
  );
  assert.throws(
    () => stridedCopyGpu(gpu, [5], { a, strides: [1], offset: 0 }, { a, strides: [1], offset: 5 }),
    /share a buffer/,
  );
  gpu.release(a);
  gpu.release(b);
});
