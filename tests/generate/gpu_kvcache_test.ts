/**
 * The KV cache on the GPU against the same cache in host memory: appending from the fused projection and from
 * grouped heads, the decoding attention over the cache (within 1e-5 of wasm), and the row reorders of beam search
 * (exact).
 */
import assert from "node:assert/strict";
import type { Gpu } from "../../lib/kernels/webgpu/runtime.ts";
import { Rng } from "../../lib/random.ts";
import { cachedSelfAttention, KVCache, reorderRows } from "../../lib/tensor/ops/kvcache.ts";
import { type AttentionMask, causalMask, fullMask } from "../../lib/tensor/ops/nn.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { withBackend } from "../_helpers/backend.ts";
import { gpuTest, relErr } from "../_helpers/webgpu.ts";

function random(shape: number[], rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.from(Array.from({ length: n }, () => rng.normal()), shape);
}

function onGpu(t: Tensor, gpu: Gpu): Tensor {
  return Tensor.from(t.data, t.shape).toGpu(gpu);
}

async function gpuValues(c: KVCache, gpu: Gpu): Promise<[Float32Array, Float32Array]> {
  const g = c.gpuCache(gpu);
  return [await gpu.read(g.k), await gpu.read(g.v)];
}

gpuTest(
  "webgpu KV cache: appended positions, grouped heads and reorders equal the host cache's exactly",
  async (gpu) => {
    const rng = new Rng(5);
    // fused projection: B 2, H 3, D 5, capacity 7; a prefill of 4 then one position
    const host = new KVCache(2, 3, 7, 5, "float32"), dev = new KVCache(2, 3, 7, 5, "float32");
    for (const T of [4, 1]) {
      const qkv = random([2, T, 3 * 15], rng);
      host.appendPacked(qkv);
      dev.appendPacked(onGpu(qkv, gpu));
    }
    assert.ok(dev.onGpu && !host.onGpu);
    assert.equal(dev.length, 5);
    assert.deepEqual(await gpuValues(dev, gpu), [Float32Array.from(host.k), Float32Array.from(host.v)]);
    host.reorder([1, 1]);
    dev.reorder([1, 1]);
    assert.deepEqual(await gpuValues(dev, gpu), [Float32Array.from(host.k), Float32Array.from(host.v)]);
    assert.throws(() => dev.appendPacked(onGpu(random([2, 3, 45], rng), gpu)), /KV cache full/);
    assert.throws(() => host.appendPacked(onGpu(random([2, 1, 45], rng), gpu)), /holds host memory/);
    dev.free();
    assert.ok(!dev.onGpu);
    assert.equal(dev.length, 0);

    // grouped: B 2, 2 key/value heads for 4 query heads, D 3, capacity 6; two appends of 2 and 1 positions
    const gh = new KVCache(2, 2, 6, 3, "float32"), gd = new KVCache(2, 2, 6, 3, "float32");
    for (const T of [2, 1]) {
      const k = random([2, 4, T, 3], rng), v = random([2, 4, T, 3], rng);
      const [kh, vh] = gh.append(k, v);
      const [kd, vd] = gd.append(onGpu(k, gpu), onGpu(v, gpu));
      assert.deepEqual(kd.shape, kh.shape);
      assert.deepEqual(await kd.read(), Float32Array.from(kh.data));
      assert.deepEqual(await vd.read(), Float32Array.from(vh.data));
    }
    gd.free();

    // reorderRows of a tensor (the cross-attention keys of a T5 decoding state)
    const t = random([3, 4, 2], rng), td = onGpu(t, gpu);
    reorderRows(t, [2, 0, 0]);
    reorderRows(td, [2, 0, 0]);
    assert.deepEqual(await td.read(), Float32Array.from(t.data));
  },
);

gpuTest(
  "webgpu cachedSelfAttention over the cache equals wasm's (1e-5), causal and explicit masks",
  async (gpu) => {
    const rng = new Rng(9);
    const B = 2, H = 2, D = 4, C = H * D, cap = 9;
    // a prefill of 5 (causal), then 1 position with every key, then 2 with an explicit mask hiding key 1
    const hidden: AttentionMask = (() => {
      const m = fullMask(2, 8);
      m.data[1] = 0;
      m.data[8 + 1] = 0;
      return m;
    })();
    const steps: [number, AttentionMask | undefined][] = [[5, undefined], [1, causalMask(1, 6)], [2, hidden]];
    const host = new KVCache(B, H, cap, D, "float32"), dev = new KVCache(B, H, cap, D, "float32");
    for (const [T, mask] of steps) {
      const qkv = random([B, T, 3 * C], rng);
      const ref = withBackend("wasm", () => cachedSelfAttention(qkv, host, H, mask)!);
      const got = cachedSelfAttention(onGpu(qkv, gpu), dev, H, mask)!;
      assert.deepEqual(got.shape, [B, T, C]);
      const err = relErr(await got.read(), ref.data);
      assert.ok(err <= 1e-5, `T ${T}: relErr ${err}`);
    }
    assert.throws(
      () => cachedSelfAttention(onGpu(random([B, 1, 3 * C], rng), gpu), dev, H, undefined, () => {}),
      /onProbs.*not on webgpu yet/,
    );
    assert.equal(cachedSelfAttention(onGpu(random([B, 1, 3 * C], rng), gpu), dev, 4, undefined), null);
    dev.free();
  },
);
