import assert from "node:assert/strict";
import { grid } from "../../../lib/kernels/webgpu/runtime.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";

const AXPY = /* wgsl */ `
struct P { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (wid.y * nwg.x + wid.x) * 64u + l;
  if (i >= p.n) { return; }
  y[i] = y[i] + p.a * x[i];
}`;

gpuTest("webgpu runtime: upload, dispatch with parameters, read back", async (gpu) => {
  const n = 1000;
  const x = gpu.upload(Float32Array.from({ length: n }, (_, i) => i));
  const y = gpu.zeros(n);
  const p = gpu.pipeline(AXPY);
  gpu.dispatch(p, [x, y], grid(Math.ceil(n / 64)), gpu.params().u32(n).f32(0.5));
  gpu.dispatch(p, [x, y], grid(Math.ceil(n / 64)), gpu.params().u32(n).f32(2));
  const got = await gpu.read(y);
  for (let i = 0; i < n; i++) assert.equal(got[i], 2.5 * i);
  assert.deepEqual([...(await gpu.read(y, 10, 3))], [25, 27.5, 30]);
  gpu.release(x);
  gpu.release(y);
});

gpuTest(
  "webgpu runtime: a write lands after the dispatches recorded before it; reads see program order",
  async (gpu) => {
    const n = 64;
    const x = gpu.upload(new Float32Array(n).fill(1));
    const y = gpu.zeros(n);
    const p = gpu.pipeline(AXPY);
    gpu.dispatch(p, [x, y], [1], gpu.params().u32(n).f32(3)); // y = 3 (recorded, not submitted)
    const before = gpu.read(y); // recorded now: sees 3
    gpu.write(x, new Float32Array(n).fill(10)); // after the first dispatch
    gpu.dispatch(p, [x, y], [1], gpu.params().u32(n).f32(1)); // y = 13
    assert.equal((await before)[5], 3);
    assert.equal((await gpu.read(y))[5], 13);
  },
);

gpuTest(
  "webgpu runtime: released buffers come back from the pool; a released array is refused",
  (gpu) => {
    const a = gpu.array(300);
    const buffer = a.buffer;
    gpu.release(a);
    const b = gpu.array(290); // same 256-byte size class (1,200 → 1,280 bytes; 1,160 → 1,280)
    assert.equal(b.buffer, buffer);
    assert.throws(
      () => gpu.dispatch(gpu.pipeline(AXPY), [a, b], [1], gpu.params().u32(1).f32(1)),
      /after Gpu.release/,
    );
    gpu.release(b);
  },
);

gpuTest(
  "webgpu runtime: more dispatches than one uniform buffer holds, and a launch over two grid dimensions",
  async (gpu) => {
    const n = 70000 * 64; // 70,000 workgroups: x and y
    const x = gpu.upload(new Float32Array(n).fill(1));
    const y = gpu.zeros(n);
    const p = gpu.pipeline(AXPY);
    const [gx, gy] = grid(n / 64);
    assert.ok(gy > 1 && gx <= 65535);
    gpu.dispatch(p, [x, y], [gx, gy], gpu.params().u32(n).f32(1));
    const got = await gpu.read(y);
    assert.equal(got[0], 1);
    assert.equal(got[n - 1], 1);
    const small = gpu.zeros(64), one = gpu.upload(new Float32Array(64).fill(1));
    for (let k = 0; k < 600; k++) {
      gpu.dispatch(p, [one, small], [1], gpu.params().u32(64).f32(k % 2 === 0 ? 1 : 2));
    }
    assert.equal((await gpu.read(small))[63], 900);
    for (const a of [x, y, small, one]) gpu.release(a);
  },
);

gpuTest("webgpu runtime: a shader that does not compile is reported by finish()", async (gpu) => {
  gpu.pipeline("fn main( {");
  await assert.rejects(() => gpu.finish(), /WebGPU error/);
});

gpuTest(
  "webgpu runtime: views bind part of an array; a view's offset must be a multiple of 64",
  async (gpu) => {
    const x = gpu.upload(Float32Array.from({ length: 256 }, (_, i) => i));
    const y = gpu.zeros(256);
    const p = gpu.pipeline(AXPY);
    gpu.dispatch(p, [x.view(64, 64), y.view(128, 64)], [1], gpu.params().u32(64).f32(1));
    const got = await gpu.read(y);
    assert.equal(got[127], 0);
    assert.equal(got[128], 64);
    assert.equal(got[191], 127);
    assert.equal(got[192], 0);
    assert.throws(() => x.view(10, 5), /multiple of 64/);
    assert.throws(() => gpu.release(x.view(0, 64)), /view/);
    gpu.release(x);
    gpu.release(y);
  },
);

gpuTest("webgpu runtime: a step gives back the arrays made inside it, except persistent ones", (gpu) => {
  const kept = gpu.step(() => {
    const scratch = gpu.array(64);
    const param = gpu.zeros(64, "f32", true);
    const inner = gpu.step(() => gpu.array(64)); // a nested step belongs to the outer one
    assert.equal(inner.released, false);
    return { scratch, param, inner };
  });
  assert.equal(kept.scratch.released, true);
  assert.equal(kept.inner.released, true);
  assert.equal(kept.param.released, false);
  gpu.release(kept.param);
});

gpuTest(
  "webgpu runtime: releaseSince gives back a step's arrays made after a mark, except the kept ones",
  (gpu) => {
    assert.equal(gpu.mark(), null);
    const made = gpu.step(() => {
      const before = gpu.array(64);
      const mark = gpu.mark();
      const dropped = gpu.array(64), kept = gpu.array(64);
      gpu.releaseSince(mark, [kept]);
      assert.equal(before.released, false);
      assert.equal(dropped.released, true);
      assert.equal(kept.released, false);
      return { before, kept };
    });
    assert.equal(made.before.released, true);
    assert.equal(made.kept.released, true); // still the step's
  },
);
