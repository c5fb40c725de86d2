/**
 * Flash attention on the GPU, mirroring lib/kernels/flash.ts: tiled attention with an online softmax over the
 * fused projection x (B, T, 3C) (per row q, then k at +C, then v at +2C; head h at h·D) into y (B, T, C), saving
 * only y and each row's log-sum-exp (lse (B, H, T), float32 here, −∞ for a row that sees nothing); the backward
 * recomputes the probabilities tile by tile from lse. No T×T matrix is stored.
 *
 * Launch shapes (64 threads per workgroup; the head dimension D and the key tile are compiled in, rows held as
 * vec4s and the products over D written out: attention_wgsl.ts):
 * - forward: a workgroup per (batch, head, block of 64 query rows), a thread per query row; tiles of `tile`
 *   keys (at most what two tiles in 16 KiB allow: 31 at D = 64) are loaded into workgroup memory in turn, and
 *   each thread rescales its running maximum, sum and output as the tile's keys arrive, in key order.
 * - backward pass 1: the same blocks: Δ = rowsum(dY ⊙ Y) (saved in a scratch array) and dQ, summing over the
 *   keys in order.
 * - backward pass 2: a workgroup per (batch, head, block of 64 key rows), a thread per key row, tiles of queries
 *   (q, dy, lse, Δ) in workgroup memory: dK and dV summed over the queries in order (no atomics).
 * Causal blocks skip the tiles above the diagonal.
 *
 * @module
 */
import { type GpuMask, MAX_HEAD_DIM } from "./attention_core.ts";
import {
  axpyRow,
  blockMain,
  dotRow,
  loadRow,
  loadTile,
  NEG,
  storeRow,
  tileRows,
  tiles,
  WG,
} from "./attention_wgsl.ts";
import { type Gpu, type GpuArray, grid } from "./runtime.ts";
import { type Binding, bindings } from "./wgsl.ts";

// Rows per tile: the caller's `tile`, at most what fits (attention_wgsl.ts tileRows).
function tileOf(tile: number, D: number): number {
  if (D < 1 || D > MAX_HEAD_DIM) {
    throw new Error(`flash attention: head dimension ${D} outside 1…${MAX_HEAD_DIM}`);
  }
  return Math.max(1, Math.min(tile, tileRows(D)));
}

// The declarations (the mask array, unless causal, bound at `at` among `arrays`), the tiles `a` and `b`, the
// helpers and the entry point's prologue.
function header(
  D: number,
  KT: number,
  mask: GpuMask,
  arrays: Binding[],
  at: number,
  a: string,
  b: string,
): string {
  const causal = mask === "causal";
  const all: Binding[] = causal
    ? arrays
    : [...arrays.slice(0, at), ["mask", "read", "u32"], ...arrays.slice(at)];
  return /* wgsl */ `
${bindings(all, "B: u32, T: u32, H: u32, scale: f32")}
${tiles(KT, D, a, b)}
// whether query i sees key j
fn visible(i: u32, j: u32) -> bool { return ${causal ? "j <= i" : "mask[i * p.T + j] != 0u"}; }
// offset of q (part 0), k (1) or v (2) of row t, head h of batch b in x; rows of one head are 3·H·D apart
fn xAt(b: u32, t: u32, h: u32, part: u32) -> u32 { return ((b * p.T + t) * 3u + part) * p.H * ${D}u + h * ${D}u; }
fn yAt(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.H * ${D}u + h * ${D}u; }
${blockMain("p.B * p.H", "p.T")}
  let b = bh / p.H;
  let h = bh - b * p.H;
  let xs = 3u * p.H * ${D}u; // row stride of x
  let ys = p.H * ${D}u; // row stride of y`;
}

// The key tiles a block of query rows visits (causal: up to its last row).
function keyTiles(mask: GpuMask): string {
  return mask === "causal" ? `min(p.T, r0 + ${WG}u)` : "p.T";
}

function forwardWgsl(D: number, KT: number, mask: GpuMask): string {
  const arrays: Binding[] = [["x", "read"], ["y", "read_write"], ["lse", "read_write"]];
  return /* wgsl */ `${header(D, KT, mask, arrays, 1, "kt", "vt")}
  var qr: array<vec4<f32>, V>;
  var acc: array<vec4<f32>, V>;
  var s: array<f32, KT>;
  if (live) { ${loadRow("qr", "x", "xAt(b, r, h, 0u)", D)} }
  var rowMax = ${NEG};
  var rowSum = 0.0;
  let end = ${keyTiles(mask)};
  for (var t0 = 0u; t0 < end; t0 += KT) {
    let n = min(KT, p.T - t0);
    workgroupBarrier(); // the previous tile is used up
    ${loadTile("kt", "x", "xAt(b, 0u, h, 1u)", "xs", D)}
    ${loadTile("vt", "x", "xAt(b, 0u, h, 2u)", "xs", D)}
    workgroupBarrier();
    if (live) {
      var tileMax = ${NEG};
      for (var c = 0u; c < n; c++) {
        s[c] = ${NEG};
        if (visible(r, t0 + c)) {
          s[c] = (${dotRow("qr", "", "kt", "c * V", D)}) * p.scale;
          tileMax = max(tileMax, s[c]);
        }
      }
      if (tileMax > ${NEG}) {
        // rescale what was accumulated under the old maximum
        let newMax = max(rowMax, tileMax);
        let k = exp(rowMax - newMax);
        rowSum *= k;
        for (var d4 = 0u; d4 < V; d4++) { acc[d4] *= k; }
        for (var c = 0u; c < n; c++) {
          if (s[c] <= ${NEG}) { continue; }
          let pr = exp(s[c] - newMax);
          rowSum += pr;
          ${axpyRow("acc", "pr", "vt", "c * V", D)}
        }
        rowMax = newMax;
      }
    }
  }
  if (live) {
    let inv = select(0.0, 1.0 / rowSum, rowSum > 0.0);
    ${storeRow("y", "yAt(b, r, h)", "acc", D, "inv")}
    lse[bh * p.T + r] = select(bitcast<f32>(0xff800000u), rowMax + log(rowSum), rowSum > 0.0);
  }
}`;
}

// Backward pass 1: Δ and dQ per query row.
function dqWgsl(D: number, KT: number, mask: GpuMask): string {
  const arrays: Binding[] = [
    ["x", "read"],
    ["y", "read"],
    ["dy", "read"],
    ["lse", "read"],
    ["delta", "read_write"],
    ["dx", "read_write"],
  ];
  return /* wgsl */ `${header(D, KT, mask, arrays, 4, "kt", "vt")}
  var qr: array<vec4<f32>, V>;
  var g: array<vec4<f32>, V>;
  var yr: array<vec4<f32>, V>;
  var dq: array<vec4<f32>, V>;
  var dl = 0.0;
  var L = ${NEG};
  if (live) {
    ${loadRow("qr", "x", "xAt(b, r, h, 0u)", D)}
    ${loadRow("g", "dy", "yAt(b, r, h)", D)}
    ${loadRow("yr", "y", "yAt(b, r, h)", D)}
    dl = ${dotRow("g", "", "yr", "", D)};
    delta[bh * p.T + r] = dl;
    L = lse[bh * p.T + r];
  }
  let seen = live && L > ${NEG};
  let end = ${keyTiles(mask)};
  for (var t0 = 0u; t0 < end; t0 += KT) {
    let n = min(KT, p.T - t0);
    workgroupBarrier();
    ${loadTile("kt", "x", "xAt(b, 0u, h, 1u)", "xs", D)}
    ${loadTile("vt", "x", "xAt(b, 0u, h, 2u)", "xs", D)}
    workgroupBarrier();
    if (seen) {
      for (var c = 0u; c < n; c++) {
        if (!visible(r, t0 + c)) { continue; }
        let sc = ${dotRow("qr", "", "kt", "c * V", D)};
        let dp = ${dotRow("g", "", "vt", "c * V", D)};
        let ds = exp(sc * p.scale - L) * (dp - dl) * p.scale;
        ${axpyRow("dq", "ds", "kt", "c * V", D)}
      }
    }
  }
  if (live) { ${storeRow("dx", "xAt(b, r, h, 0u)", "dq", D)} }
}`;
}

// Backward pass 2: dK and dV per key row, tiles of queries in workgroup memory.
function dkvWgsl(D: number, KT: number, mask: GpuMask): string {
  const arrays: Binding[] = [["x", "read"], ["dy", "read"], ["lse", "read"], ["delta", "read"], [
    "dx",
    "read_write",
  ]];
  return /* wgsl */ `
var<workgroup> lt: array<f32, ${KT}>;
var<workgroup> dt: array<f32, ${KT}>;
${header(D, KT, mask, arrays, 4, "qt", "gt")}
  var kr: array<vec4<f32>, V>;
  var vr: array<vec4<f32>, V>;
  var dk: array<vec4<f32>, V>;
  var dv: array<vec4<f32>, V>;
  if (live) {
    ${loadRow("kr", "x", "xAt(b, r, h, 1u)", D)}
    ${loadRow("vr", "x", "xAt(b, r, h, 2u)", D)}
  }
  for (var t0 = ${mask === "causal" ? "r0" : "0u"}; t0 < p.T; t0 += KT) {
    let n = min(KT, p.T - t0);
    workgroupBarrier();
    ${loadTile("qt", "x", "xAt(b, 0u, h, 0u)", "xs", D)}
    ${loadTile("gt", "dy", "yAt(b, 0u, h)", "ys", D)}
    for (var c = l; c < n; c += ${WG}u) {
      lt[c] = lse[bh * p.T + t0 + c];
      dt[c] = delta[bh * p.T + t0 + c];
    }
    workgroupBarrier();
    if (live) {
      for (var c = 0u; c < n; c++) {
        if (lt[c] <= ${NEG} || !visible(t0 + c, r)) { continue; }
        let sc = ${dotRow("qt", "c * V", "kr", "", D)};
        let dp = ${dotRow("gt", "c * V", "vr", "", D)};
        let pr = exp(sc * p.scale - lt[c]);
        let ds = pr * (dp - dt[c]) * p.scale;
        ${axpyRow("dv", "pr", "gt", "c * V", D)}
        ${axpyRow("dk", "ds", "qt", "c * V", D)}
      }
    }
  }
  if (live) {
    ${storeRow("dx", "xAt(b, r, h, 1u)", "dk", D)}
    ${storeRow("dx", "xAt(b, r, h, 2u)", "dv", D)}
  }
}`;
}

function launch(B: number, T: number, H: number): [number, number] {
  return grid(B * H * Math.ceil(T / WG));
}

function withMask(arrays: GpuArray[], mask: GpuMask, at: number): GpuArray[] {
  return mask === "causal" ? arrays : [...arrays.slice(0, at), mask, ...arrays.slice(at)];
}

/**
 * y = softmax(mask(q·kᵀ/√D)) · v for every (batch, head) slice of x (B, T, 3C) into y (B, T, C), in tiles of
 * `tile` keys (capped by what fits workgroup memory); lse (B, H, T, float32) receives each row's log Σ exp of its scores
 * (−∞ for a row that sees nothing, whose output is 0). Mirrors `flashAttentionForward`.
 */
export function flashAttentionForwardGpu(
  gpu: Gpu,
  x: GpuArray,
  m: GpuMask,
  y: GpuArray,
  lse: GpuArray,
  B: number,
  T: number,
  H: number,
  D: number,
  tile: number,
): void {
  const p = gpu.params().u32(B, T, H).f32(1 / Math.sqrt(D));
  const wgsl = forwardWgsl(D, tileOf(tile, D), m);
  gpu.dispatch(gpu.pipeline(wgsl), withMask([x, y, lse], m, 1), launch(B, T, H), p);
}

/**
 * dq, dk, dv written into dx (the layout of x, overwritten in full) from dy (the layout of y), recomputing the
 * probabilities tile by tile from the forward's lse. Mirrors `flashAttentionBackward`.
 */
export function flashAttentionBackwardGpu(
  gpu: Gpu,
  x: GpuArray,
  y: GpuArray,
  dy: GpuArray,
  lse: GpuArray,
  m: GpuMask,
  dx: GpuArray,
  B: number,
  T: number,
  H: number,
  D: number,
  tile: number,
): void {
  const KT = tileOf(tile, D);
  const delta = gpu.array(B * H * T);
  const p = () => gpu.params().u32(B, T, H).f32(1 / Math.sqrt(D));
  gpu.dispatch(
    gpu.pipeline(dqWgsl(D, KT, m)),
    withMask([x, y, dy, lse, delta, dx], m, 4),
    launch(B, T, H),
    p(),
  );
  gpu.dispatch(
    gpu.pipeline(dkvWgsl(D, KT, m)),
    withMask([x, dy, lse, delta, dx], m, 4),
    launch(B, T, H),
    p(),
  );
  gpu.release(delta);
}
