/**
 * The GPU the WebGPU tests run on: one device per test process, opened at import. Where none can be opened the
 * tests are skipped with one line saying why — unless `WEBGPU_REQUIRED=1` (set by .ci/run), which turns that
 * skip into a failure.
 *
 * @module
 */
import { Gpu, gpuUnavailableReason } from "../../lib/kernels/webgpu/runtime.ts";

/** The test GPU, or null where there is none (the tests then skip). */
export const testGpu: Gpu | null = await Gpu.open();

/** Why there is no test GPU (null when there is one). */
export const noGpuReason: string | null = testGpu !== null
  ? null
  : gpuUnavailableReason() ?? "no WebGPU adapter (on Debian: apt-get install mesa-vulkan-drivers)";

const required = Deno.env.get("WEBGPU_REQUIRED") === "1";
let said = false;

/**
 * Registers a WebGPU test: `fn` gets the test GPU and runs after every dispatch of the previous test finished.
 * Skipped (one line on stderr, once per file) where there is no GPU; a failure there under `WEBGPU_REQUIRED=1`.
 */
export function gpuTest(name: string, fn: (gpu: Gpu) => Promise<void> | void): void {
  if (testGpu === null && !required) {
    if (!said) console.error(`webgpu tests skipped: ${noGpuReason}`);
    said = true;
  }
  Deno.test({
    name,
    ignore: testGpu === null && !required,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      if (testGpu === null) throw new Error(`WEBGPU_REQUIRED=1 but ${noGpuReason}`);
      await fn(testGpu);
      await testGpu.finish();
    },
  });
}

/** max|a − b| / max|ref| over two arrays of the same length (0 when both are all zeros). */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`relErr: lengths ${got.length} and ${ref.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
    if (Number.isNaN(got[i]) !== Number.isNaN(ref[i])) return Infinity;
  }
  return scale === 0 ? diff : diff / scale;
}
