/**
 * Tensor, autograd tape and differentiable ops.
 *
 * @module
 */
export * from "./tensor.ts";
export {
  allocate,
  allocateForWrite,
  allocatePersistent,
  cpuDevice,
  defaultDevice,
  type Device,
  makePersistent,
  setDefaultDevice,
  swapStorage,
  withStep,
} from "./storage.ts";
export * from "./grad.ts";
export * from "./saved.ts";
export * from "./ops/shape.ts";
export * from "./ops/arith.ts";
export * from "./ops/nn.ts";
export * from "./ops/rmsnorm.ts";
export * from "./ops/swiglu.ts";
export * from "./ops/rope.ts";
export * from "./ops/recompute.ts";
export * from "./ops/flash.ts";
export * from "./precision.ts";
export * from "./ops/relpos.ts";
export * from "./ops/optim.ts";
export { reorderRows } from "./ops/kvcache.ts";
export type { RopeTables } from "../kernels/rope.ts";
// the kernels' controls: which backend and how many threads (both chosen on first use when never set)
export { availableBackends, type BackendName, getBackend, setBackend } from "../kernels/backend.ts";
export { defaultThreads, getThreads, setThreads, whenThreadsReady } from "../kernels/wasm/pool.ts";
// the GPU (WebGPU): opening it, its arrays; a model moves there with model.toGpu(gpu) (docs/gpu.md)
export {
  Gpu,
  GpuArray,
  type GpuInfo,
  type GpuKind,
  type GpuOptions,
  gpuUnavailableReason,
  Params,
} from "../kernels/webgpu/runtime.ts";
export { type GpuDevice, gpuDevice } from "./gpu/device.ts";
export type { GpuCache } from "./gpu/kvcache.ts";
