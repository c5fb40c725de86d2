/**
 * 16-bit storage on the GPU: float32 ↔ bfloat16 and ↔ IEEE float16, rounded exactly as lib/tensor/precision.ts
 * (`bf16Bits`, `fp16Bits`, `bf16Value`, `fp16Value`: round to nearest even, subnormals, overflow to ±Inf, NaN).
 *
 * Layout (both formats, every adapter): two values per `u32`, element 2i in the low 16 bits and 2i + 1 in the high
 * ones; an odd count leaves the last word's high half 0. That is byte for byte WGSL's `array<f16>` (and
 * `array<vec2<f16>>`), so on an adapter with `shader-f16` (`gpu.info.f16`) a kernel may bind fp16 storage as
 * `array<f16>` and read it natively; where there is none, kernels decode the words with {@link HALF_WGSL}.
 * The conversions themselves work on the bits in integer arithmetic on every adapter — WGSL leaves the rounding of
 * a float-to-f16 conversion, its overflow and subnormals to the implementation — so they are bit-exact everywhere;
 * the float32 side is bound as `array<u32>` too, so NaN payloads pass untouched.
 *
 * Launch shape: 1-D, one invocation per u32 word (two values), {@link WG} per workgroup, spread by `grid()`, in
 * binding-sized windows.
 *
 * @module
 */
import { bindingElements, dispatchWindows, part, type Piece, pieces } from "./chunks.ts";
import type { Gpu, GpuArray, Params } from "./runtime.ts";
import { LINEAR_ARGS, LINEAR_WG } from "./wgsl.ts";

/** Invocations per workgroup. */
export const WG = 256;

/**
 * WGSL functions on the bits of the 16-bit formats, for kernels that read or write 16-bit storage: `bf16Bits(b)` and
 * `fp16Bits(b)` (float32 bits `b` → the 16-bit bits), `bf16Value(h)` and `fp16Value(h)` (16-bit bits → float32
 * bits; `bitcast<f32>` them). All as precision.ts rounds.
 */
export const HALF_WGSL = /* wgsl */ `
fn bf16Bits(b: u32) -> u32 {
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) { return (b >> 16u) | 0x40u; }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

fn bf16Value(h: u32) -> u32 {
  return (h & 0xffffu) << 16u;
}

fn fp16Bits(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let abs = b & 0x7fffffffu;
  if (abs >= 0x7f800000u) { return sign | 0x7c00u | select(0u, 0x200u, abs > 0x7f800000u); }
  if (abs >= 0x477ff000u) { return sign | 0x7c00u; }
  if (abs < 0x38800000u) {
    // a subnormal m · 2^-24: the 24-bit significand shifted right by 126 - exponent, rounded to nearest even
    let e = abs >> 23u;
    if (e < 102u) { return sign; }
    let full = (abs & 0x7fffffu) | 0x800000u;
    let shift = 126u - e;
    var r = full >> shift;
    let rem = full & ((1u << shift) - 1u);
    let halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (r & 1u) == 1u)) { r = r + 1u; }
    return sign | r;
  }
  var h = (((abs >> 23u) - 112u) << 10u) | ((abs >> 13u) & 0x3ffu);
  let rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}

fn fp16Value(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 31u) { return select(0x7fc00000u, sign | 0x7f800000u, m == 0u); }
  if (e != 0u) { return sign | ((e + 112u) << 23u) | (m << 13u); }
  if (m == 0u) { return sign; }
  let p = firstLeadingBit(m);
  return sign | ((p + 103u) << 23u) | ((m << (23u - p)) & 0x7fffffu);
}`;

// float32 (as bits) → packed 16-bit words: word i holds elements 2i and 2i + 1 (0 past n).
const encode = (fn: string) => /* wgsl */ `
struct P { lo: u32, hi: u32, n: u32 }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> u: P;
${HALF_WGSL}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  let lo = ${fn}(x[2u * i]);
  var hi = 0u;
  if (2u * i + 1u < u.n) { hi = ${fn}(x[2u * i + 1u]); }
  out[i] = lo | (hi << 16u);
}`;

// packed 16-bit words → float32 (as bits).
const decode = (fn: string) => /* wgsl */ `
struct P { lo: u32, hi: u32, n: u32 }
@group(0) @binding(0) var<storage, read> h: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> u: P;
${HALF_WGSL}
@compute @workgroup_size(${WG})
fn main(${LINEAR_ARGS}) {
  let i = u.lo + ${LINEAR_WG} * ${WG}u + lid;
  if (i >= u.hi) { return; }
  let w = h[i];
  out[2u * i] = ${fn}(w & 0xffffu);
  if (2u * i + 1u < u.n) { out[2u * i + 1u] = ${fn}(w >> 16u); }
}`;

const SOURCES = {
  toBf16: encode("bf16Bits"),
  toFp16: encode("fp16Bits"),
  fromBf16: decode("bf16Value"),
  fromFp16: decode("fp16Value"),
} as const;

/** Words holding `n` 16-bit values. */
export function halfWords(n: number): number {
  return Math.ceil(n / 2);
}

// Records `kind` over n values, window by window: windows of words half a binding long, so the matching float32
// window (twice as long, from element 2·base) fits one binding too.
function convert(gpu: Gpu, kind: keyof typeof SOURCES, floats: GpuArray, words: GpuArray, n: number): void {
  const m = halfWords(n);
  if (floats.length < n || words.length < m) {
    throw new Error(
      `webgpu half: ${n} values need ${n} floats and ${m} words; got ${floats.length} and ${words.length}`,
    );
  }
  const window = Math.max(64, Math.floor(bindingElements(gpu) / 128) * 64);
  const values = (piece: Piece) => Math.min(n - 2 * piece.base, 2 * piece.size); // the window's float32 values
  const bind = (piece: Piece) => {
    const f = values(piece) === floats.length ? floats : floats.view(2 * piece.base, values(piece));
    const w = part(words, piece);
    return kind.startsWith("to") ? [f, w] : [w, f];
  };
  const more = (p: Params, piece: Piece) => p.u32(values(piece));
  dispatchWindows(gpu, gpu.pipeline(SOURCES[kind]), WG, pieces(gpu, m, 0, m, window), bind, more);
}

/** Rounds the first `n` floats of `x` to bfloat16 into `out` ({@link halfWords}(n) u32 words, packed as above). */
export function toBf16Gpu(gpu: Gpu, x: GpuArray, out: GpuArray, n: number = x.length): void {
  convert(gpu, "toBf16", x, out, n);
}

/** Rounds the first `n` floats of `x` to float16 into `out` ({@link halfWords}(n) u32 words, packed as above). */
export function toFp16Gpu(gpu: Gpu, x: GpuArray, out: GpuArray, n: number = x.length): void {
  convert(gpu, "toFp16", x, out, n);
}

/** The float32 values of `n` bfloat16 values packed in `h` into `out`. */
export function fromBf16Gpu(gpu: Gpu, h: GpuArray, out: GpuArray, n: number = out.length): void {
  convert(gpu, "fromBf16", out, h, n);
}

/** The float32 values of `n` float16 values packed in `h` into `out`. */
export function fromFp16Gpu(gpu: Gpu, h: GpuArray, out: GpuArray, n: number = out.length): void {
  convert(gpu, "fromFp16", out, h, n);
}
