/**
 * Rotary position embeddings on the GPU, mirroring lib/kernels/rope.ts `ropeRotate`: the q and k parts of each
 * row of the fused projection output (B, T, 3C), heads of D, turn pairs (i, i + D/2) by the angles of positions
 * pos0 … pos0 + T − 1 (sign −1 turns them back: the backward). Launch shape: one invocation per rotated pair
 * (B·T·2·H·D/2 of them), 256 per workgroup over a 1-D grid; src and out larger than one binding are recorded as
 * several dispatches over chunks of whole (b, t) rows (split.ts).
 *
 * @module
 */
import { grid } from "./runtime.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { forEachChunk } from "./split.ts";
import { bindings, linearMain } from "./wgsl.ts";

/** Invocations per workgroup. */
const WG = 256;

const ROTATE = /* wgsl */ `
${
  bindings(
    [["src", "read"], ["cosT", "read"], ["sinT", "read"], ["out", "read_write"]],
    "n: u32, skip: u32, r0: u32, T: u32, H: u32, D: u32, pos0: u32, sign: f32",
  )
}
${linearMain(WG)}
  if (e >= p.n) { return; }
  let half = p.D / 2u;
  let i = e % half;
  var rest = e / half;
  let h = rest % p.H;
  rest = rest / p.H;
  let part = rest % 2u; // q, then k
  let bt = rest / 2u; // the row in the chunk; p.r0 + bt in (B, T)
  let C = p.H * p.D;
  let o = p.skip + bt * 3u * C + part * C + h * p.D;
  let tp = (p.pos0 + (p.r0 + bt) % p.T) * half + i;
  let c = cosT[tp];
  let s = p.sign * sinT[tp];
  let x1 = src[o + i];
  let x2 = src[o + i + half];
  out[o + i] = x1 * c - x2 * s;
  out[o + i + half] = x2 * c + x1 * s;
}`;

/**
 * Records the rotation of src's q and k parts (B, T, 3C with C = H·D, f32) into out, which must already hold
 * src's values (v passes through; out must not share src's buffer). `cos` and `sin` are the f32 tables of the
 * angles, (positions, D/2) row-major (RopeTable's cos/sin uploaded); `sign` −1 turns back (the backward).
 */
export function ropeRotateGpu(
  gpu: Gpu,
  src: GpuArray,
  out: GpuArray,
  B: number,
  T: number,
  H: number,
  D: number,
  pos0: number,
  cos: GpuArray,
  sin: GpuArray,
  sign: 1 | -1,
): void {
  const pipeline = gpu.pipeline(ROTATE);
  forEachChunk(gpu, B * T, 3 * H * D, (c, view) => {
    const n = c.nr * 2 * H * (D / 2);
    const params = gpu.params().u32(n, c.skip, c.r0, T, H, D, pos0).f32(sign);
    gpu.dispatch(pipeline, [view(src), cos, sin, view(out)], grid(Math.ceil(n / WG)), params);
  });
}
