/**
 * A GPU as a {@link Device}: the device of every tensor on it (`t.device`), for the names in messages and for
 * `step` (the arrays made during a step go back to the pool at its end: `Gpu.step`). Its values are GPU arrays
 * (`t.gpu`), never host storage, so the host-storage members throw, naming what to call instead; there is no
 * `readSync` (`t.readSync()` and `t.item()` throw, naming `await t.read()`).
 *
 * @module
 */
import type { Float } from "../../kernels/types.ts";
import type { Gpu } from "../../kernels/webgpu/runtime.ts";
import type { Device } from "../storage.ts";

const devices = new WeakMap<Gpu, GpuDevice>();
/** The GPUs that hold tensors (few: one per process in practice), for {@link gpuMarks}. */
const used = new Set<Gpu>();

/** The {@link Device} of the tensors on one GPU. */
export interface GpuDevice extends Device {
  /** The GPU. */
  readonly gpu: Gpu;
}

function hostStorage(what: string): never {
  throw new Error(`webgpu device: ${what} is host storage; a tensor on the GPU keeps its values in t.gpu`);
}

/** The device of the tensors on `gpu` (one per GPU). */
export function gpuDevice(gpu: Gpu): GpuDevice {
  let d = devices.get(gpu);
  if (d === undefined) {
    d = {
      name: `webgpu (${gpu.info.name})`,
      gpu,
      allocate: () => hostStorage("allocate"),
      allocatePersistent: () => hostStorage("allocatePersistent"),
      release: (_buf: Float) => {},
      step: (fn) => gpu.step(fn),
      read: () => hostStorage("read"),
      write: () => hostStorage("write"),
    };
    devices.set(gpu, d);
    used.add(gpu);
  }
  return d;
}

/** Where the step of every GPU holding tensors stands now (`Gpu.mark`), for giving back what comes after. */
export function gpuMarks(): Map<Gpu, number | null> {
  return new Map([...used].map((gpu) => [gpu, gpu.mark()]));
}
