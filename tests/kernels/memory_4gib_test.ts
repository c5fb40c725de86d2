/**
 * The kernel memory grows to 4 GiB (a GPT-2-small training step needs ~3.8): kernels on arrays that live above
 * 2 GiB give the js kernels' results (byte offsets past 2³¹ must be read unsigned). Runs in a child process,
 * since the memory it grows is never given back.
 *
 * @module
 */
import { blasAvailable } from "../../lib/kernels/blas.ts";
import { wasmAvailable } from "../../lib/kernels/wasm/runtime.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { ROOT } from "../_helpers/task.ts";
import { denoOnPath } from "../experiment/_sweep.ts";

for (const backend of ["wasm", "blas"]) {
  Deno.test({
    name: `kernels on arrays above 2 GiB of kernel memory equal the js kernels (${backend})`,
    ignore: !wasmAvailable() || (backend === "blas" && !blasAvailable()),
    async fn() {
      const r = await new Deno.Command(denoOnPath(), {
        args: ["run", "--allow-read", "--allow-env", "--allow-ffi", "tests/kernels/_above_2gib.ts", backend],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assertEquals(r.code, 0, err);
      const out = JSON.parse(new TextDecoder().decode(r.stdout).trim());
      assertTrue(out.filler, "the memory grew past 2 GiB");
      assertTrue(out.lowest >= 2 ** 31, `operands above 2 GiB (lowest at ${out.lowest})`);
      assertTrue(out.gemmErr < 1e-3, `gemm error ${out.gemmErr}`);
      assertTrue(out.geluErr < 1e-5, `gelu error ${out.geluErr}`);
    },
  });
}
