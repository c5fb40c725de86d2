import assert from "node:assert/strict";
import { grid } from "../../../lib/kernels/webgpu/runtime.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";

const ADD_ONE = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = (wid.y * nwg.x + wid.x) * 64u + l;
  if (i >= p.n) { return; }
  y[i] = y[i] + 1.0;
}`;

gpuTest(
  "webgpu timed: nanoseconds of the recorded work (null without timestamp-query); the work is done",
  async (gpu) => {
    const n = 5000;
    const y = gpu.zeros(n), z = gpu.zeros(n);
    const p = gpu.pipeline(ADD_ONE);
    const ns = await gpu.timed(() => {
      gpu.dispatch(p, [y], grid(Math.ceil(n / 64)), gpu.params().u32(n));
      gpu.copy(y, z); // ends the pass: the next one still counts
      for (let k = 0; k < 300; k++) gpu.dispatch(p, [z], grid(Math.ceil(n / 64)), gpu.params().u32(n)); // a flush
    });
    if (gpu.info.timestamps) assert.ok(ns !== null && Number.isFinite(ns) && ns >= 0, `timed: ${ns}`);
    else assert.equal(ns, null);
    assert.equal((await gpu.read(y))[n - 1], 1);
    assert.equal((await gpu.read(z))[0], 301);
    assert.equal(await gpu.timed(() => {}), gpu.info.timestamps ? 0 : null);
    await gpu.timed(() => assert.throws(() => gpu.timed(() => {}), /do not nest/));
    gpu.release(y);
    gpu.release(z);
  },
);

gpuTest("webgpu timed: work recorded before it runs as usual", async (gpu) => {
  const y = gpu.zeros(64);
  const p = gpu.pipeline(ADD_ONE);
  gpu.dispatch(p, [y], [1], gpu.params().u32(64));
  await gpu.timed(() => gpu.dispatch(p, [y], [1], gpu.params().u32(64)));
  gpu.dispatch(p, [y], [1], gpu.params().u32(64));
  assert.equal((await gpu.read(y))[7], 3);
  gpu.release(y);
});
