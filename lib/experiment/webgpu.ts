/**
 * `run.backend: "webgpu"` for a run: opening the GPU (a software adapter such as lavapipe is accepted, since the
 * config asks for webgpu by name; `auto` never picks it), the one-line error where there is none, and what of a
 * run is not on the GPU yet.
 *
 * @module
 */
import { Gpu, gpuUnavailableReason } from "../kernels/webgpu/runtime.ts";
import type { Config } from "./config.ts";

/**
 * The one-line error where webgpu was asked for (`asked`: the config path or flag that asked, default
 * `run.backend "webgpu"`) and no GPU can be opened; `reason` says why.
 */
export function webgpuUnavailable(reason: string, asked = 'run.backend "webgpu"'): string {
  return `${asked}: ${reason}; it needs a Deno with WebGPU (2.9.6 has it; older versions need --unstable-webgpu, ` +
    "which the deno tasks pass) and a WebGPU " +
    "adapter (a Vulkan, Metal or Direct3D 12 driver; Linux without a GPU: apt-get install mesa-vulkan-drivers, " +
    'a software one), or choose another backend ("auto")';
}

/**
 * Opens the GPU of a run on webgpu; throws one line (naming `--unstable-webgpu` and `mesa-vulkan-drivers`) when
 * there is no WebGPU or no adapter, and for what the GPU path does not do yet (16-bit precision).
 */
export async function openRunGpu(config: Config): Promise<Gpu> {
  const precision = config.train.precision;
  if (precision !== "fp32") {
    throw new Error(
      `train.precision "${precision}": not on webgpu yet (run.backend "webgpu" trains in fp32)`,
    );
  }
  let gpu: Gpu | null;
  try {
    gpu = await Gpu.open();
  } catch (e) {
    throw new Error(webgpuUnavailable(`opening the adapter failed (${(e as Error).message})`), { cause: e });
  }
  if (gpu === null) throw new Error(webgpuUnavailable(gpuUnavailableReason() ?? "no WebGPU adapter found"));
  return gpu;
}

/** The adapter as the run output and the manifest name it: its name, and `software` for a software one. */
export function adapterLabel(gpu: Gpu): string {
  return gpu.info.software ? `${gpu.info.name}, software` : gpu.info.name;
}

/**
 * What a run on webgpu leaves out because it is not on the GPU yet, as one info line (null when the config asks
 * for none of it): the block (activation) statistics of detail lines.
 */
export function webgpuSkipped(config: Config): string | null {
  return config.train.log_interval_detail > 0
    ? "webgpu: not on the GPU yet, so skipped: block statistics in detail lines (train.log_interval_detail)"
    : null;
}
