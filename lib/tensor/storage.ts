/**
 * Where a tensor's numbers live: the {@link Device} interface (allocate, release, read, write), the CPU device
 * (the step arena and resident memory of the WASM kernels, or plain arrays), and the default device that ops
 * allocate on. Where gradients live is lib/tensor/grad.ts.
 *
 * Every device today keeps a tensor's values in a host typed array (`Tensor.data`), which is where the ops and
 * kernels compute; what differs between devices is how that storage is allocated and whether its values can
 * be read synchronously (docs/architecture.md, "Devices", describes how a GPU device plugs in).
 *
 * @module
 */
import type { Float } from "../kernels/types.ts";
import {
  arenaFloat32,
  arenaRelease,
  inArena,
  residentAddress,
  residentFloat32,
  withArena,
} from "../kernels/wasm/runtime.ts";
import type { Tensor } from "./tensor.ts";

/** The element type of a tensor's storage. */
export type DType = "float32" | "float64";

/** Where tensors' numbers live and how they are allocated, released, read and written. */
export interface Device {
  /** Name, for error messages. */
  readonly name: string;
  /** Zeroed storage for a value of the current step (see {@link Device.step}). */
  allocate(dtype: DType, n: number): Float;
  /**
   * Storage for a value of the current step that the caller writes in full before reading it: as
   * {@link Device.allocate}, but it need not be zeroed (left out: `allocate` serves).
   */
  allocateUninitialized?(dtype: DType, n: number): Float;
  /** Zeroed long-lived storage (parameters, their gradients, optimizer state, caches). */
  allocatePersistent(dtype: DType, n: number): Float;
  /** Hands back step storage that nothing refers to any more, for reuse within the step (a no-op elsewhere). */
  release(buf: Float): void;
  /**
   * Runs `fn` as one step: step storage allocated inside is given back when the outermost step returns, so it
   * must not be used after (read what is needed inside, `await t.read()` included: its copy is taken at once).
   */
  step<T>(fn: () => T): T;
  /** The values of `buf` now; left out by a device that reads only asynchronously (a GPU). */
  readSync?(buf: Float): Float;
  /**
   * A host copy of the values of `buf` as they are at the call, once it is ready (the storage may be released
   * or written right after the call: the device takes its copy first).
   */
  read(buf: Float): Promise<Float>;
  /** Copies `values` into `buf` from element `offset` on. */
  write(buf: Float, values: ArrayLike<number>, offset: number): void;
}

/**
 * The CPU: float32 storage lives in the WASM kernels' memory (the step arena inside `withArena`, resident arrays
 * otherwise) where they are available, else in plain arrays; float64 storage (gradient checks) is always plain.
 * `readSync` returns the storage itself; `read` a copy.
 */
export const cpuDevice: Device = {
  name: "cpu",
  allocate: (dtype, n) => dtype === "float64" ? new Float64Array(n) : arenaFloat32(n) ?? new Float32Array(n),
  allocateUninitialized: (dtype, n) =>
    dtype === "float64" ? new Float64Array(n) : arenaFloat32(n, false) ?? new Float32Array(n),
  allocatePersistent: (dtype, n) =>
    dtype === "float64" ? new Float64Array(n) : residentFloat32(n) ?? new Float32Array(n),
  release: (buf) => arenaRelease(buf),
  step: withArena,
  readSync: (buf) => buf,
  read: (buf) => Promise.resolve(buf.slice()),
  write: (buf, values, offset) => buf.set(values, offset),
};

let current: Device = cpuDevice;

/** The device new tensors are made on (the CPU unless {@link setDefaultDevice} chose another). */
export function defaultDevice(): Device {
  return current;
}

/** Makes `device` the one new tensors are made on; returns the previous one (to put back). */
export function setDefaultDevice(device: Device): Device {
  const prev = current;
  current = device;
  return prev;
}

/** Runs `fn` as one step of the default device (the CPU: in a step arena, `withArena`). */
export function withStep<T>(fn: () => T): T {
  return current.step(fn);
}

/**
 * Zeroed storage on the default device for a value of the step: inside {@link withStep} (on the CPU, inside a
 * `withArena` scope) it is given back when the step ends; use {@link allocatePersistent} for what outlives it.
 */
export function allocate(dtype: DType, n: number): Float {
  return current.allocate(dtype, n);
}

/**
 * Storage on the default device for a value of the step that the caller writes in full before reading it (an
 * op's output or gradient that its kernel overwrites): {@link allocate} without the zeroing, where the device
 * can skip it. Never for a buffer that is accumulated into.
 */
export function allocateForWrite(dtype: DType, n: number): Float {
  return current.allocateUninitialized?.(dtype, n) ?? current.allocate(dtype, n);
}

/** Zeroed long-lived storage on the default device (parameters, optimizer state, caches): never in an arena. */
export function allocatePersistent(dtype: DType, n: number): Float {
  return current.allocatePersistent(dtype, n);
}

/**
 * The values of `buf` (`t`'s storage, or its gradient's) now; throws, naming `await t.read()`, where `t`'s device
 * reads asynchronously only.
 */
export function readSync(t: Tensor, buf: Float = t.data): Float {
  const device = t.device;
  if (device.readSync === undefined) {
    throw new Error(
      `readSync(): tensor ${t.name ?? `[${t.shape}]`} is on device "${device.name}", which can only read ` +
        "asynchronously: use `await t.read()`",
    );
  }
  return device.readSync(buf);
}

/**
 * Moves `t`'s values into long-lived storage where they are not there yet: on the CPU, a float32 tensor moves
 * into the kernel memory (when it exists), where the kernels read it in place instead of copying it on every
 * call. Parameters call this once, when a module registers them; other devices keep the storage they have.
 */
export function makePersistent(t: Tensor): void {
  const buf = t.data;
  if (t.device !== cpuDevice || !(buf instanceof Float32Array)) return;
  if (residentAddress(buf) >= 0 && !inArena(buf)) return;
  const home = residentFloat32(buf.length);
  if (home === null) return;
  home.set(buf);
  t.data = home;
}

/** Points `t` at storage `buf` of its device, length and dtype; returns the storage it had. */
export function swapStorage(t: Tensor, buf: Float): Float {
  if (buf.length !== t.size || buf.constructor !== t.data.constructor) {
    throw new Error(`swapStorage: storage for [${t.shape}] must be a ${t.dtype} array of ${t.size} elements`);
  }
  const old = t.data;
  t.data = buf;
  return old;
}
