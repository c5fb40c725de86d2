import assert from "node:assert/strict";
import { flashAttentionBackward, flashAttentionForward } from "../../../lib/kernels/flash.ts";
import type { GpuMask } from "../../../lib/kernels/webgpu/attention.ts";
import { flashAttentionBackwardGpu, flashAttentionForwardGpu } from "../../../lib/kernels/webgpu/flash.ts";
import { Rng } from "../../../lib/random.ts";
import { withBackend } from "../../_helpers/backend.ts";
import { gpuTest, relErr } from "../../_helpers/webgpu.ts";

const TOL = 1e-5;

function randn(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

// −∞ (a row that sees nothing) at the same places on both sides, then a finite stand-in for relErr.
function finiteLse(got: Float32Array, ref: Float64Array): [Float32Array, Float64Array] {
  for (let i = 0; i < ref.length; i++) {
    assert.equal(got[i] === -Infinity, ref[i] === -Infinity, `lse ${i}: ${got[i]} vs ${ref[i]}`);
  }
  return [got.map((v) => (v === -Infinity ? 0 : v)), ref.map((v) => (v === -Infinity ? 0 : v))];
}

const cases: [number, number, number, number, number, "causal" | "random"][] = [
  // B, T, H, D, tile, mask
  [2, 1, 2, 8, 16, "causal"],
  [2, 70, 2, 16, 16, "random"], // the first row sees nothing
  [1, 37, 3, 24, 8, "causal"],
  [1, 70, 1, 64, 64, "random"], // tile capped at 31 rows
  [1, 9, 2, 6, 4, "causal"], // D not a multiple of 4
  [1, 1024, 1, 16, 64, "causal"],
];

for (const [B, T, H, D, tile, kind] of cases) {
  gpuTest(`webgpu flash attention: B ${B} T ${T} H ${H} D ${D} tile ${tile} ${kind}`, async (gpu) => {
    const rng = new Rng(T + D);
    const C = H * D;
    const x = randn(B * T * 3 * C, rng), dy = randn(B * T * C, rng);
    let mask: Uint8Array, gm: GpuMask;
    if (kind === "causal") {
      mask = Uint8Array.from({ length: T * T }, (_, t) => (t % T <= Math.floor(t / T) ? 1 : 0));
      gm = "causal";
    } else {
      mask = Uint8Array.from({ length: T * T }, () => (rng.next() < 0.6 ? 1 : 0)).fill(0, 0, T);
      gm = gpu.upload(Uint32Array.from(mask));
    }
    const y = new Float32Array(B * T * C), lse = new Float64Array(B * H * T), dx = new Float32Array(x.length);
    withBackend("js", () => {
      flashAttentionForward(x, mask, y, lse, B, T, H, D, tile);
      flashAttentionBackward(x, y, dy, lse, mask, dx, B, T, H, D, tile);
    });
    const gx = gpu.upload(x), gdy = gpu.upload(dy);
    const gy = gpu.array(y.length), gl = gpu.array(lse.length), gdx = gpu.array(x.length);
    const run = async () => {
      flashAttentionForwardGpu(gpu, gx, gm, gy, gl, B, T, H, D, tile);
      flashAttentionBackwardGpu(gpu, gx, gy, gdy, gl, gm, gdx, B, T, H, D, tile);
      return [await gpu.read(gy), await gpu.read(gl), await gpu.read(gdx)];
    };
    const [ry, rl, rdx] = await run();
    for (const [name, got, ref] of [["y", ry, y], ["dx", rdx, dx], ["lse", ...finiteLse(rl, lse)]] as const) {
      const e = relErr(got, ref);
      assert.ok(e <= TOL, `${name}: relErr ${e}`);
    }
    assert.deepEqual(await run(), [ry, rl, rdx], "two runs give the same bits");
  });
}
