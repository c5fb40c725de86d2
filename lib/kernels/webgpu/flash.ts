/**
 * Flash attention on the GPU, mirroring lib/kernels/flash.ts: tiled attention with an online softmax over the
 * fused projection x (B, T, 3C) (per row q, then k at +C, then v at +2C; head h at h·D) into y (B, T, C), saving
 * only y and each row's log-sum-exp (lse (B, H, T), float32 here, −∞ for a row that sees nothing); the backward
 * recomputes the probabilities tile by tile from lse. No T×T matrix is stored.
 *
 * Launch shapes (64 threads per workgroup; the head dimension D and the key tile are compiled in):
 * - forward: a workgroup per (batch, head, block of 64 query rows), a thread per query row; tiles of `tile`
 *   keys (at most ⌊2048 / D⌋, so K and V tiles fit 16 KiB) are loaded into workgroup memory in turn, and each
 *   thread rescales its running maximum, sum and output as the tile's keys arrive, in key order.
 * - backward pass 1: the same blocks: Δ = rowsum(dY ⊙ Y) (saved in a scratch array) and dQ, summing over the
 *   keys in order.
 * - backward pass 2: a workgroup per (batch, head, block of 64 key rows), a thread per key row, tiles of queries
 *   (q, dy, lse, Δ) in workgroup memory: dK and dV summed over the queries in order (no atomics).
 * Causal blocks skip the tiles above the diagonal.
 *
 * @module
 */
import type { GpuMask } from "./attention_core.ts";
import type { Gpu, GpuArray } from "./runtime.ts";
import { grid } from "./runtime.ts";

const WG = 64;
/** Floats one K (or Q) tile may hold: two tiles fit the 16 KiB of workgroup memory every adapter has. */
const TILE_FLOATS = 2048;
const NEG = "-3.0e38";

// The key (or query) tile: the caller's `tile`, within what fits and at most a workgroup.
function tileOf(tile: number, D: number): number {
  return Math.max(1, Math.min(tile, WG, Math.floor(TILE_FLOATS / D)));
}

function header(D: number, KT: number, mask: GpuMask): string {
  const causal = mask === "causal";
  return /* wgsl */ `
const D = ${D}u;
const KT = ${KT}u;
struct P { B: u32, T: u32, H: u32, scale: f32 }
// whether query i sees key j
fn visible(i: u32, j: u32) -> bool { return ${causal ? "j <= i" : "mask[i * p.T + j] != 0u"}; }
// offset of q (part 0), k (1) or v (2) of row t, head h of batch b in x
fn xAt(b: u32, t: u32, h: u32, part: u32) -> u32 { return ((b * p.T + t) * 3u + part) * p.H * D + h * D; }
fn yAt(b: u32, t: u32, h: u32) -> u32 { return (b * p.T + t) * p.H * D + h * D; }`;
}

function maskDecl(mask: GpuMask, binding: number): string {
  return mask === "causal" ? "" : `@group(0) @binding(${binding}) var<storage, read> mask: array<u32>;`;
}

function forwardWgsl(D: number, KT: number, mask: GpuMask): string {
  const m = mask === "causal" ? 0 : 1;
  return /* wgsl */ `${header(D, KT, mask)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
${maskDecl(mask, 1)}
@group(0) @binding(${1 + m}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${2 + m}) var<storage, read_write> lse: array<f32>;
@group(0) @binding(${3 + m}) var<uniform> p: P;
var<workgroup> kt: array<f32, ${KT * D}>;
var<workgroup> vt: array<f32, ${KT * D}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let blocks = (p.T + ${WG - 1}u) / ${WG}u;
  let w = wid.y * nwg.x + wid.x; // (b·H + h)·blocks + block
  if (w >= p.B * p.H * blocks) { return; }
  let bh = w / blocks;
  let b = bh / p.H;
  let h = bh - b * p.H;
  let i0 = (w - bh * blocks) * ${WG}u;
  let i = i0 + l;
  let live = i < p.T;
  var qr: array<f32, D>;
  var acc: array<f32, D>;
  var s: array<f32, KT>;
  if (live) {
    let qa = xAt(b, i, h, 0u);
    for (var d = 0u; d < D; d++) { qr[d] = x[qa + d]; acc[d] = 0.0; }
  }
  var rowMax = ${NEG};
  var rowSum = 0.0;
  let jEnd = ${mask === "causal" ? `min(p.T, i0 + ${WG}u)` : "p.T"};
  for (var j0 = 0u; j0 < jEnd; j0 += KT) {
    let bc = min(KT, p.T - j0);
    workgroupBarrier(); // the previous tile is used up
    for (var e = l; e < bc * D; e += ${WG}u) {
      let c = e / D;
      let d = e - c * D;
      kt[e] = x[xAt(b, j0 + c, h, 1u) + d];
      vt[e] = x[xAt(b, j0 + c, h, 2u) + d];
    }
    workgroupBarrier();
    if (live) {
      var tileMax = ${NEG};
      for (var c = 0u; c < bc; c++) {
        var sc = ${NEG};
        if (visible(i, j0 + c)) {
          sc = 0.0;
          for (var d = 0u; d < D; d++) { sc += qr[d] * kt[c * D + d]; }
          sc *= p.scale;
          tileMax = max(tileMax, sc);
        }
        s[c] = sc;
      }
      if (tileMax > ${NEG}) {
        let newMax = max(rowMax, tileMax);
        let k = exp(rowMax - newMax);
        rowSum *= k;
        for (var d = 0u; d < D; d++) { acc[d] *= k; }
        for (var c = 0u; c < bc; c++) {
          if (s[c] <= ${NEG}) { continue; }
          let pr = exp(s[c] - newMax);
          rowSum += pr;
          for (var d = 0u; d < D; d++) { acc[d] += pr * vt[c * D + d]; }
        }
        rowMax = newMax;
      }
    }
  }
  if (live) {
    let ya = yAt(b, i, h);
    for (var d = 0u; d < D; d++) { y[ya + d] = select(0.0, acc[d] / rowSum, rowSum > 0.0); }
    lse[bh * p.T + i] = select(bitcast<f32>(0xff800000u), rowMax + log(rowSum), rowSum > 0.0);
  }
}`;
}

// Backward pass 1: Δ and dQ per query row.
function dqWgsl(D: number, KT: number, mask: GpuMask): string {
  const m = mask === "causal" ? 0 : 1;
  return /* wgsl */ `${header(D, KT, mask)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
${maskDecl(mask, 4)}
@group(0) @binding(${4 + m}) var<storage, read_write> delta: array<f32>;
@group(0) @binding(${5 + m}) var<storage, read_write> dx: array<f32>;
@group(0) @binding(${6 + m}) var<uniform> p: P;
var<workgroup> kt: array<f32, ${KT * D}>;
var<workgroup> vt: array<f32, ${KT * D}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let blocks = (p.T + ${WG - 1}u) / ${WG}u;
  let w = wid.y * nwg.x + wid.x;
  if (w >= p.B * p.H * blocks) { return; }
  let bh = w / blocks;
  let b = bh / p.H;
  let h = bh - b * p.H;
  let i0 = (w - bh * blocks) * ${WG}u;
  let i = i0 + l;
  var live = i < p.T;
  var qr: array<f32, D>;
  var g: array<f32, D>;
  var dq: array<f32, D>;
  var dl = 0.0;
  var L = 0.0;
  if (live) {
    let qa = xAt(b, i, h, 0u);
    let ya = yAt(b, i, h);
    for (var d = 0u; d < D; d++) {
      qr[d] = x[qa + d];
      g[d] = dy[ya + d];
      dq[d] = 0.0;
      dl += g[d] * y[ya + d];
    }
    delta[bh * p.T + i] = dl;
    L = lse[bh * p.T + i];
  }
  let seen = live && L > ${NEG};
  let jEnd = ${mask === "causal" ? `min(p.T, i0 + ${WG}u)` : "p.T"};
  for (var j0 = 0u; j0 < jEnd; j0 += KT) {
    let bc = min(KT, p.T - j0);
    workgroupBarrier();
    for (var e = l; e < bc * D; e += ${WG}u) {
      let c = e / D;
      let d = e - c * D;
      kt[e] = x[xAt(b, j0 + c, h, 1u) + d];
      vt[e] = x[xAt(b, j0 + c, h, 2u) + d];
    }
    workgroupBarrier();
    if (seen) {
      for (var c = 0u; c < bc; c++) {
        if (!visible(i, j0 + c)) { continue; }
        var sc = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < D; d++) {
          sc += qr[d] * kt[c * D + d];
          dp += g[d] * vt[c * D + d];
        }
        let ds = exp(sc * p.scale - L) * (dp - dl) * p.scale;
        for (var d = 0u; d < D; d++) { dq[d] += ds * kt[c * D + d]; }
      }
    }
  }
  if (live) {
    let qa = xAt(b, i, h, 0u);
    for (var d = 0u; d < D; d++) { dx[qa + d] = select(0.0, dq[d], seen); }
  }
}`;
}

// Backward pass 2: dK and dV per key row, tiles of queries in workgroup memory.
function dkvWgsl(D: number, KT: number, mask: GpuMask): string {
  const m = mask === "causal" ? 0 : 1;
  return /* wgsl */ `${header(D, KT, mask)}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> delta: array<f32>;
${maskDecl(mask, 4)}
@group(0) @binding(${4 + m}) var<storage, read_write> dx: array<f32>;
@group(0) @binding(${5 + m}) var<uniform> p: P;
var<workgroup> qt: array<f32, ${KT * D}>;
var<workgroup> gt: array<f32, ${KT * D}>;
var<workgroup> lt: array<f32, KT>;
var<workgroup> dt: array<f32, KT>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) l: u32) {
  let blocks = (p.T + ${WG - 1}u) / ${WG}u;
  let w = wid.y * nwg.x + wid.x;
  if (w >= p.B * p.H * blocks) { return; }
  let bh = w / blocks;
  let b = bh / p.H;
  let h = bh - b * p.H;
  let j0 = (w - bh * blocks) * ${WG}u;
  let j = j0 + l;
  let live = j < p.T;
  var kr: array<f32, D>;
  var vr: array<f32, D>;
  var dk: array<f32, D>;
  var dv: array<f32, D>;
  if (live) {
    let ka = xAt(b, j, h, 1u);
    for (var d = 0u; d < D; d++) {
      kr[d] = x[ka + d];
      vr[d] = x[ka + p.H * D + d];
      dk[d] = 0.0;
      dv[d] = 0.0;
    }
  }
  for (var i0 = ${mask === "causal" ? "j0" : "0u"}; i0 < p.T; i0 += KT) {
    let br = min(KT, p.T - i0);
    workgroupBarrier();
    for (var e = l; e < br * D; e += ${WG}u) {
      let r = e / D;
      let d = e - r * D;
      qt[e] = x[xAt(b, i0 + r, h, 0u) + d];
      gt[e] = dy[yAt(b, i0 + r, h) + d];
    }
    for (var r = l; r < br; r += ${WG}u) {
      lt[r] = lse[bh * p.T + i0 + r];
      dt[r] = delta[bh * p.T + i0 + r];
    }
    workgroupBarrier();
    if (live) {
      for (var r = 0u; r < br; r++) {
        if (lt[r] <= ${NEG} || !visible(i0 + r, j)) { continue; }
        var sc = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < D; d++) {
          sc += qt[r * D + d] * kr[d];
          dp += gt[r * D + d] * vr[d];
        }
        let pr = exp(sc * p.scale - lt[r]);
        let ds = pr * (dp - dt[r]) * p.scale;
        for (var d = 0u; d < D; d++) {
          dv[d] += pr * gt[r * D + d];
          dk[d] += ds * qt[r * D + d];
        }
      }
    }
  }
  if (live) {
    let ka = xAt(b, j, h, 1u);
    for (var d = 0u; d < D; d++) {
      dx[ka + d] = dk[d];
      dx[ka + p.H * D + d] = dv[d];
    }
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
 * `tile` keys (capped at ⌊2048 / D⌋ and 64); lse (B, H, T, float32) receives each row's log Σ exp of its scores
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
