/**
 * `--backend` of the commands that run a trained model (generate, eval): a CPU kernel backend, or `webgpu`, which
 * opens the GPU (a software adapter too: it was asked for by name) and moves the model there.
 *
 * @module
 */
import { setBackend } from "../../kernels/backend.ts";
import { Gpu, gpuUnavailableReason } from "../../kernels/webgpu/runtime.ts";
import type { Module } from "../../nn/module.ts";
import { adapterLabel, webgpuUnavailable } from "../webgpu.ts";
import type { Flag } from "./_command.ts";

/** The `--backend NAME` flag. */
export const BACKEND_FLAG = {
  type: "string",
  choices: ["auto", "js", "wasm", "blas", "webgpu"],
  value: "NAME",
  defaultText: "webgpu for a run trained on webgpu, else auto",
  description:
    "where the model runs: a CPU kernel backend, or webgpu (the GPU; Deno needs --unstable-webgpu)",
} as const satisfies Flag;

/**
 * Runs `model` on `name` (the flag's value; unset: webgpu when the run's `run.backend` is "webgpu", else the
 * default CPU backend, left as it is) and returns the line that says where — `backend: webgpu (<adapter>[,
 * software])` or `backend: <cpu backend>` — or null when nothing was chosen. Throws, in one line, where webgpu
 * was asked for and no GPU can be opened.
 */
export async function useBackend(
  name: string | undefined,
  runBackend: string,
  model: Module,
): Promise<string | null> {
  const wanted = name ?? (runBackend === "webgpu" ? "webgpu" : undefined);
  if (wanted === undefined) return null;
  if (wanted !== "webgpu") return `backend: ${setBackend(wanted as "auto" | "js" | "wasm" | "blas")}`;
  const gpu = await Gpu.open();
  if (gpu === null) {
    throw new Error(
      webgpuUnavailable(gpuUnavailableReason() ?? "no WebGPU adapter found", "--backend webgpu"),
    );
  }
  model.toGpu(gpu);
  return `backend: webgpu (${adapterLabel(gpu)})`;
}
