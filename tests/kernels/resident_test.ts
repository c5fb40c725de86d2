import assert from "node:assert/strict";
import {
  arenaPeakBytes,
  resetArenaPeak,
  residentAddress,
  residentFloat32,
  wasmHeap,
  withArena,
} from "../../lib/kernels/wasm/runtime.ts";
import { keepOnlyResult } from "../../lib/tensor/ops/recompute.ts";
import { noGrad } from "../../lib/tensor/grad.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { Rng } from "../../lib/random.ts";

Deno.test("resident arrays: zeroed, 64-byte aligned, disjoint from each other and from the scratch area", () => {
  const arrays = [5, 1, 1000, 17, 64, 3000].map((n) => residentFloat32(n)!);
  const spans = arrays.map((a) => [residentAddress(a), residentAddress(a) + a.byteLength] as const);
  const heap = wasmHeap(50_000); // a scratch request may move the scratch area, never onto a resident array
  spans.push([heap.byteOffset, heap.byteOffset + heap.byteLength]);
  for (const a of arrays) {
    assert.ok(a.every((v) => v === 0));
    assert.equal(residentAddress(a) % 64, 0);
    a.fill(7);
  }
  heap.fill(-1);
  for (const a of arrays) assert.ok(a.every((v) => v === 7), "scratch writes must not reach resident arrays");
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length; j++) {
      assert.ok(spans[i][1] <= spans[j][0] || spans[j][1] <= spans[i][0], `blocks ${i} and ${j} overlap`);
    }
  }
  assert.equal(residentAddress(new Float32Array(4)), -1);
});

Deno.test("float32 parameters live in the kernel memory; their values are those the initialiser drew", () => {
  const cfg = {
    vocabSize: 11,
    blockSize: 8,
    nLayer: 1,
    nHead: 2,
    nEmbd: 8,
    dropout: 0,
    bias: true,
    tieWeights: true,
  };
  const model = new GPT(cfg, new Rng(1));
  for (const { name, tensor: p } of model.namedParameters()) {
    assert.ok(residentAddress(p.data) >= 0, `${name} is not resident`);
  }
  const again = new GPT(cfg, new Rng(1));
  const a = model.namedParameters(), b = again.namedParameters();
  for (let i = 0; i < a.length; i++) assert.deepEqual(a[i].tensor.data, b[i].tensor.data);
});

Deno.test("no-tape forward keeps one block's intermediates at a time: same loss, a smaller arena peak", () => {
  const model = new GPT(
    {
      vocabSize: 20,
      blockSize: 32,
      nLayer: 4,
      nHead: 2,
      nEmbd: 32,
      dropout: 0,
      bias: true,
      tieWeights: true,
    },
    new Rng(3),
  );
  model.eval();
  const B = 4, T = 32;
  const x = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 20);
  const y = Int32Array.from({ length: B * T }, (_, i) => (i * 3 + 1) % 20);
  // the whole forward as one region (what evaluation held before): the blocks' outputs are not compacted
  const plain = () => model.forward(x, B, T, { targets: y }).loss!.item();
  resetArenaPeak();
  const compacted = noGrad(() => withArena(plain));
  const peakCompacted = arenaPeakBytes();
  // the same forward with the tape on, no backward: every intermediate stays
  resetArenaPeak();
  const kept = withArena(plain);
  const peakKept = arenaPeakBytes();
  assert.equal(compacted, kept, "bit-identical loss");
  assert.ok(peakCompacted < peakKept / 2, `arena peak ${peakCompacted} vs ${peakKept} bytes`);
  // with the tape on, keepOnlyResult is the function itself
  const t = withArena(() => keepOnlyResult(() => model.forward(x, B, T).logits));
  assert.equal(t.shape.join(","), `${B},${T},20`);
});
