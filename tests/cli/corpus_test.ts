/** Issue 14, point 9: `deno task corpus` prints no `Failed to resolve 'bible' for allow-run` on every call. */
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { canSpawn, runTask } from "./_task.ts";

Deno.test({
  name:
    "corpus --list: lists the corpora and prints nothing on stderr (no 'Failed to resolve' from allow-run)",
  ignore: !canSpawn,
  async fn() {
    const { code, stdout, stderr } = await runTask("corpus", ["--list"]);
    assertEquals([code, stderr], [0, ""]);
    for (const name of ["sotu", "brown", "kjv"]) assertTrue(stdout.includes(`${name}: `), stdout);
  },
});
