/**
 * The safetensors checkpoint format (F32 only): an 8-byte little-endian u64 header length N, N bytes of UTF-8
 * JSON header (`{"__metadata__": {...}, "<name>": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}}`,
 * padded with spaces so the data starts 8-byte aligned), then the raw little-endian float32 data, tensors laid
 * out in sorted name order. Offsets are relative to the start of the data section. Files written here load in
 * Python's `safetensors` (and so in PyTorch) unchanged.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../io/atomic.ts";

/** One named tensor: a shape and its row-major float32 values. */
export interface SafetensorsTensor {
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major values; length is the product of `shape`. */
  data: Float32Array;
}

/** The result of {@link decodeSafetensors}. */
export interface SafetensorsFile {
  /** Tensors by name. */
  tensors: Record<string, SafetensorsTensor>;
  /** The `__metadata__` string map (empty when the file has none). */
  metadata: Record<string, string>;
}

const METADATA_KEY = "__metadata__";
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function checkName(name: string, where: string): void {
  if (name === "" || name === METADATA_KEY || name === "__proto__") {
    throw new Error(`${where}: invalid tensor name ${JSON.stringify(name)}`);
  }
}

/** Serialises tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`encodeSafetensors: metadata "${k}" must be a string`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const name of names) {
    checkName(name, "encodeSafetensors");
    const { shape, data } = tensors[name];
    if (!isShape(shape)) {
      throw new Error(`encodeSafetensors: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!(data instanceof Float32Array)) {
      throw new Error(`encodeSafetensors: tensor "${name}" data must be a Float32Array`);
    }
    if (data.length !== numel(shape)) {
      throw new Error(
        `encodeSafetensors: tensor "${name}" has shape [${shape}] (${numel(shape)} values) ` +
          `but ${data.length} values`,
      );
    }
    header[name] = { dtype: "F32", shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    const data = tensors[name].data;
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i], true);
    }
    pos += data.byteLength;
  }
  return out;
}

/**
 * Parses safetensors bytes. Every error names `source` (a path, or `"<buffer>"`) and the problem: too short,
 * truncated header, invalid JSON, a dtype other than F32, shape/offset mismatch, offsets out of range or
 * overlapping, truncated data.
 */
export function decodeSafetensors(bytes: Uint8Array, source = "<buffer>"): SafetensorsFile {
  function fail(msg: string): never {
    throw new Error(`${source}: invalid safetensors file: ${msg}`);
  }
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(
      `header length ${n64} exceeds the ${bytes.length - 8} bytes after the length field (truncated file?)`,
    );
  }
  const headerLen = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    return fail("header must be a JSON object");
  }
  const entries = header as Record<string, unknown>;
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const rawMeta = entries[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (typeof rawMeta !== "object" || rawMeta === null || Array.isArray(rawMeta)) {
      fail("__metadata__ must be an object");
    }
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== "string") fail(`__metadata__ "${k}" must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v as string;
    }
  }

  const spans: Array<{ name: string; begin: number; end: number; shape: number[] }> = [];
  for (const [name, raw] of Object.entries(entries)) {
    if (name === METADATA_KEY) continue;
    if (name === "" || name === "__proto__") fail(`invalid tensor name ${JSON.stringify(name)}`);
    if (typeof raw !== "object" || raw === null) fail(`tensor "${name}": entry must be an object`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (dtype !== "F32") fail(`tensor "${name}": dtype ${JSON.stringify(dtype)} is not supported (only F32)`);
    if (!isShape(shape)) fail(`tensor "${name}": invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o))) {
      return fail(`tensor "${name}": data_offsets must be two integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin < 0 || end < begin) fail(`tensor "${name}": data_offsets [${begin}, ${end}] are out of range`);
    const s = shape as number[];
    if (end - begin !== numel(s) * 4) {
      fail(
        `tensor "${name}": shape [${s}] needs ${numel(s) * 4} bytes but data_offsets [${begin}, ${end}] ` +
          `span ${end - begin}`,
      );
    }
    if (end > dataLen) {
      fail(`tensor "${name}": data_offsets end ${end} is past the ${dataLen} data bytes (data truncated)`);
    }
    spans.push({ name, begin, end, shape: s });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) {
      fail(`tensors "${spans[i - 1].name}" and "${spans[i].name}" have overlapping data_offsets`);
    }
  }

  const tensors: Record<string, SafetensorsTensor> = {};
  for (
    const { name, begin, end, shape } of spans.sort((
      a,
      b,
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  ) {
    const data = new Float32Array((end - begin) / 4);
    if (LITTLE_ENDIAN_HOST) {
      new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    } else {
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    }
    tensors[name] = { shape, data };
  }
  return { tensors, metadata };
}

/** Writes tensors to a safetensors file atomically (temp file + rename). */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the path. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  return decodeSafetensors(await readFile(path), path);
}
