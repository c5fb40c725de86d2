import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  type SafetensorsTensor,
  saveSafetensors,
} from "../../lib/train/safetensors.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";

const t = (shape: number[], values: number[]): SafetensorsTensor => ({
  shape,
  data: Float32Array.from(values),
});

/** Builds a file from a raw header string (padded to 8) and data bytes. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(), declaredLen?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLen ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("safetensors: hand-built known bytes", () => {
  const bytes = encodeSafetensors({ b: t([2], [1, -2]), a: t([1, 1], [0.5]) }, { format: "pt" });
  const header = `{"__metadata__":{"format":"pt"},` +
    `"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},` +
    `"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`;
  assertEquals(header.length, 141); // padded with 3 spaces to 144
  const expected = new Uint8Array([
    ...[144, 0, 0, 0, 0, 0, 0, 0], // u64 LE header length
    ...new TextEncoder().encode(header + "   "),
    ...[0x00, 0x00, 0x00, 0x3f], // a = 0.5
    ...[0x00, 0x00, 0x80, 0x3f], // b[0] = 1
    ...[0x00, 0x00, 0x00, 0xc0], // b[1] = -2
  ]);
  assertEquals(bytes, expected);
  assertEquals((8 + 144) % 8, 0); // data starts 8-aligned
});

Deno.test("safetensors: data always starts 8-byte aligned", () => {
  for (const name of ["w", "ww", "www", "wwww", "wwwww", "wwwwww", "wwwwwww", "wwwwwwww"]) {
    const bytes = encodeSafetensors({ [name]: t([3], [1, 2, 3]) });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assertEquals(n % 8, 0);
    assertEquals(bytes.length, 8 + n + 12);
  }
});

Deno.test("safetensors: round-trip (sorted names, special values, empty tensor, metadata)", () => {
  const tensors = {
    "transformer.wte.weight": t([3, 2], [1.5, -0, NaN, Infinity, -Infinity, 1e-42]),
    "lm_head.weight": t([2], [3.25, -7]),
    "empty": t([0, 4], []),
    "scalar": t([], [42]),
  };
  const meta = { step: "10", note: "ünïcødé ✓" };
  const back = decodeSafetensors(encodeSafetensors(tensors, meta));
  assertEquals(Object.keys(back.tensors), ["empty", "lm_head.weight", "scalar", "transformer.wte.weight"]);
  for (const [name, want] of Object.entries(tensors)) {
    assertEquals(back.tensors[name].shape, want.shape);
    // Compare bit patterns so NaN and -0 count.
    assertEquals(new Uint32Array(back.tensors[name].data.buffer), new Uint32Array(want.data.buffer));
  }
  assertEquals(back.metadata, meta);
  assertEquals(decodeSafetensors(encodeSafetensors({ a: t([1], [1]) })).metadata, {});
});

Deno.test("safetensors: encode rejects inconsistent input", () => {
  assertThrows(() => encodeSafetensors({ a: t([2, 2], [1, 2, 3]) }), `"a"`, "4 values", "but 3");
  assertThrows(() => encodeSafetensors({ a: t([-1], []) }), "invalid shape");
  assertThrows(() => encodeSafetensors({ __metadata__: t([1], [1]) }), "invalid tensor name");
});

Deno.test("safetensors: each corruption gives its message, naming the source", () => {
  const good = encodeSafetensors({ a: t([2], [1, 2]), b: t([1], [3]) });
  const src = "ckpt/model.safetensors";
  assertThrows(() => decodeSafetensors(good.slice(0, 5), src), src, "shorter than the 8-byte header length");
  assertThrows(() => decodeSafetensors(good.slice(0, 40), src), src, "header length", "truncated");
  assertThrows(() => decodeSafetensors(rawFile("{not json"), src), src, "header is not valid JSON");
  assertThrows(() => decodeSafetensors(rawFile("[1,2]"), src), "header must be a JSON object");
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile(`{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, new Uint8Array(2)),
        src,
      ),
    src,
    `dtype "BF16" is not supported`,
  );
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, new Uint8Array(8)),
        src,
      ),
    "shape [3] needs 12 bytes",
    "span 8",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, new Uint8Array(8)),
        src,
      ),
    "out of range",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, new Uint8Array(8)),
        src,
      ),
    "out of range",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        rawFile(
          `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`,
          new Uint8Array(8),
        ),
        src,
      ),
    `"a" and "b" have overlapping data_offsets`,
  );
  assertThrows(() => decodeSafetensors(good.slice(0, good.length - 4), src), src, "data truncated");
  assertThrows(
    () => decodeSafetensors(rawFile(`{"__metadata__":{"x":1}}`), src),
    `__metadata__ "x" must be a string`,
  );
  assertThrows(() => decodeSafetensors(good.slice(0, 5)), "<buffer>");
});

Deno.test("safetensors: decode works on an unaligned view", () => {
  const bytes = encodeSafetensors({ a: t([2], [1, 2]) });
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assertEquals(Array.from(decodeSafetensors(shifted.subarray(3)).tensors.a.data), [1, 2]);
});

Deno.test("saveSafetensors / loadSafetensors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/model.safetensors`;
    await saveSafetensors(path, { w: t([2, 2], [1, 2, 3, 4]) }, { step: "3" });
    const back = await loadSafetensors(path);
    assertEquals(back.tensors.w.shape, [2, 2]);
    assertEquals(Array.from(back.tensors.w.data), [1, 2, 3, 4]);
    assertEquals(back.metadata, { step: "3" });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["model.safetensors"]); // no temp file left
    await Deno.writeFile(path, new Uint8Array([1, 2]));
    const err = await assertRejects(() => loadSafetensors(path), path, "shorter than");
    assertTrue(err.message.startsWith(path));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
