import { KVCache } from "../../lib/nn/attention.ts";
import { adoptStorage } from "../../lib/tensor/grad.ts";
import { Tensor } from "../../lib/tensor/tensor.ts";
import { assertEquals, assertThrows } from "../_helpers/assert.ts";

Deno.test("KVCache.appendPacked: wrong shapes and overflow give clear errors; k and v land per head", () => {
  const cache = new KVCache(1, 2, 3, 2, "float32"); // B 1, H 2, capacity 3, D 2 → C 4
  assertThrows(
    () => cache.appendPacked(Tensor.zeros([1, 2, 8])),
    "KVCache.appendPacked",
    "must be (1, T, 12)",
  );
  assertThrows(() => cache.appendPacked(Tensor.zeros([2, 1, 12])), "must be (1, T, 12)");
  // one position: q | k | v, heads side by side
  const row = Tensor.from([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 12]);
  cache.appendPacked(row);
  assertEquals(cache.length, 1);
  assertEquals([...cache.k.subarray(0, 2)], [1, 2]); // head 0, position 0
  assertEquals([...cache.k.subarray(6, 8)], [3, 4]); // head 1, position 0 (capacity 3 · D 2 = 6 further)
  assertEquals([...cache.v.subarray(6, 8)], [7, 8]);
  cache.appendPacked(Tensor.zeros([1, 2, 12]));
  assertThrows(() => cache.appendPacked(Tensor.zeros([1, 1, 12])), "KV cache full: 3 + 1 > 3 positions");
});

Deno.test("adoptStorage: storage of the wrong length or type is refused; values and gradient move over", () => {
  const t = Tensor.from([1, 2, 3], [3]);
  assertThrows(
    () => adoptStorage(t, new Float32Array(2), new Float32Array(3), []),
    "adoptStorage: storage for [3] must be two float32 arrays of 3 elements",
  );
  assertThrows(() => adoptStorage(t, new Float64Array(3), new Float64Array(3), []), "two float32 arrays");
  t.grad = new Float32Array([4, 5, 6]);
  const data = new Float32Array(3), grad = new Float32Array(3);
  adoptStorage(t, data, grad, []);
  assertEquals([t.data === data, t.grad === grad], [true, true]);
  assertEquals([...data, ...grad], [1, 2, 3, 4, 5, 6]);
});
