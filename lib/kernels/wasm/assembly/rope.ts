// Rotary position embeddings (AssemblyScript; compiled by `deno task build:wasm`), four lanes at a time. Pointer
// arguments are byte offsets into linear memory.

import { fma, splat } from "./simd_math";

// Rotary embeddings on the q and k parts of each row of src (B, T, 3C) into out (which already holds v, or is
// src): pairs (i, i + D/2) of each head rotate by the angles of positions pos0 … pos0+T−1, whose cos and sin are
// the (positions, D/2) f32 tables at cos / sin; sign −1 rotates back (the backward pass).
export function rope_rotate(B: i32, T: i32, H: i32, D: i32, src: usize, out: usize, cos: usize, sin: usize, pos0: i32, sign: f32): void {
  const C = H * D, half = D >> 1, h4 = half & ~3;
  const sg = splat(sign);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = <usize>((b * T + t) * 3 * C);
      const tp = <usize>((pos0 + t) * half) << 2;
      for (let part = 0; part < 2; part++) {
        for (let h = 0; h < H; h++) {
          const o = (row + <usize>(part * C + h * D)) << 2;
          const hb = <usize>half << 2;
          for (let i = 0; i < h4; i += 4) {
            const io = <usize>i << 2;
            const c = v128.load(cos + tp + io), s = f32x4.mul(sg, v128.load(sin + tp + io));
            const x1 = v128.load(src + o + io), x2 = v128.load(src + o + hb + io);
            v128.store(out + o + io, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
            v128.store(out + o + hb + io, fma(x1, s, f32x4.mul(x2, c)));
          }
          for (let i = h4; i < half; i++) {
            const io = <usize>i << 2;
            const c = load<f32>(cos + tp + io), s = sign * load<f32>(sin + tp + io);
            const x1 = load<f32>(src + o + io), x2 = load<f32>(src + o + hb + io);
            store<f32>(out + o + io, x1 * c - x2 * s);
            store<f32>(out + o + hb + io, x2 * c + x1 * s);
          }
        }
      }
    }
  }
}
