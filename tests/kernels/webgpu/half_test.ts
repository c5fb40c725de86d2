import assert from "node:assert/strict";
import {
  fromBf16Gpu,
  fromFp16Gpu,
  halfWords,
  toBf16Gpu,
  toFp16Gpu,
} from "../../../lib/kernels/webgpu/half.ts";
import { Gpu } from "../../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../../lib/random.ts";
import { bf16Bits, bf16Value, fp16Bits, fp16Value } from "../../../lib/tensor/precision.ts";
import { gpuTest } from "../../_helpers/webgpu.ts";

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const f32 = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];

// Edge values: zeros, f32 subnormals, the fp16 subnormal range and its rounding ties, the fp16 overflow edge, the
// bf16 ties, Inf, NaN (with a payload), the largest floats.
const EDGES = [
  0,
  -0,
  1,
  -1,
  0.1,
  -2.5,
  f32(1),
  f32(0x7fffff),
  2 ** -14,
  -(2 ** -14),
  2 ** -24,
  2 ** -25,
  -(2 ** -25),
  2 ** -25 * 1.0000001,
  3 * 2 ** -25,
  5 * 2 ** -26,
  2 ** -14 - 2 ** -25,
  2 ** -14 - 2 ** -26,
  1023.5 * 2 ** -24,
  65504,
  65519.99,
  65520,
  -65520,
  65536,
  1e30,
  -1e30,
  3.4028234663852886e38,
  Infinity,
  -Infinity,
  NaN,
  f32(0x7f800001),
  f32(0xffc12345),
  1 + 2 ** -8,
  1 + 3 * 2 ** -8,
  1 + 2 ** -11,
  1 + 3 * 2 ** -11,
  f32(0x7f7fffff),
  f32(0x3f808000),
  f32(0x3f818000),
  f32(0x477fefff),
  f32(0x477ff000),
];

function inputs(): Uint32Array {
  const rng = new Rng(16);
  const random = Array.from({ length: 3000 }, () => rng.nextUint32()); // any bit pattern: NaNs and Infs too
  const spread = Array.from({ length: 3000 }, () => {
    const x = (rng.next() * 2 - 1) * 2 ** Math.floor(rng.next() * 60 - 35); // across fp16's range and beyond
    return bitsOf(x);
  });
  const all = [...EDGES.map(bitsOf), ...random, ...spread];
  if (all.length % 2 === 0) all.push(bitsOf(0.75)); // an odd count: the last word's high half is unused
  return Uint32Array.from(all);
}

const CASES = [
  { name: "bf16", to: toBf16Gpu, from: fromBf16Gpu, bits: bf16Bits, value: bf16Value },
  { name: "fp16", to: toFp16Gpu, from: fromFp16Gpu, bits: fp16Bits, value: fp16Value },
];

for (const c of CASES) {
  gpuTest(
    `webgpu half: float32 → ${c.name} bit-exact with precision.ts on edge and random values`,
    async (gpu) => {
      const x = inputs();
      const n = x.length;
      const gx = gpu.upload(x), out = gpu.array(halfWords(n), "u32");
      c.to(gpu, gx, out, n);
      const words = new Uint32Array((await gpu.readInts(out)).buffer);
      for (let i = 0; i < n; i++) {
        const got = (words[i >> 1] >>> ((i & 1) * 16)) & 0xffff;
        const want = c.bits(f32(x[i]));
        if (got !== want) {
          assert.fail(
            `${c.name}(${f32(x[i])} = 0x${x[i].toString(16)}): 0x${got.toString(16)} ≠ 0x${
              want.toString(16)
            }`,
          );
        }
      }
      assert.equal(words[(n - 1) >> 1] >>> 16, 0); // the odd count's last high half
      gpu.release(gx);
      gpu.release(out);
    },
  );

  gpuTest(
    `webgpu half: ${c.name} → float32 bit-exact with precision.ts for all 65,536 patterns`,
    async (gpu) => {
      const n = 65536 + 1; // odd: the last word's high half is ignored
      const packed = new Uint32Array(halfWords(n));
      for (let h = 0; h < 65536; h++) packed[h >> 1] |= h << ((h & 1) * 16);
      const gh = gpu.upload(packed), out = gpu.array(n);
      c.from(gpu, gh, out, n);
      const got = await gpu.read(out);
      const gotBits = new Uint32Array(got.buffer);
      for (let h = 0; h < 65536; h++) {
        const want = c.value(h);
        const same = Number.isNaN(want) ? Number.isNaN(got[h]) : gotBits[h] === bitsOf(want);
        if (!same) assert.fail(`${c.name} 0x${h.toString(16)}: ${got[h]} ≠ ${want}`);
      }
      assert.equal(got[65536], 0);
      gpu.release(gh);
      gpu.release(out);
    },
  );
}

gpuTest(
  "webgpu half: arrays larger than one binding convert window by window; round trips repeat",
  async () => {
    const small = await Gpu.open({ maxBinding: 4096 }); // 1,024 floats, 512 words per window
    assert.ok(small !== null);
    try {
      const x = inputs().subarray(0, 2999);
      const n = x.length;
      for (const c of CASES) {
        const gx = small.upload(x), words = small.array(halfWords(n), "u32"), back = small.array(n);
        c.to(small, gx, words, n);
        c.from(small, words, back, n);
        const got = await small.read(back);
        for (let i = 0; i < n; i++) {
          const want = c.value(c.bits(f32(x[i])));
          const same = Number.isNaN(want) ? Number.isNaN(got[i]) : bitsOf(got[i]) === bitsOf(want);
          if (!same) assert.fail(`${c.name} round trip of ${f32(x[i])} at ${i}: ${got[i]} ≠ ${want}`);
        }
      }
      await small.finish();
    } finally {
      small.destroy();
    }
  },
);
