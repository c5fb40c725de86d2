/**
 * `deno task sweep <sweep.jsonc> [--retry-failed]`: runs (or resumes) a sweep locally, one trial at a time (see
 * `lib/experiment/sweep.ts`), reports each failing trial as it happens, and prints and writes (`summary.md` in
 * the sweep folder) the configurations ranked by their mean final validation loss over the seeds.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../io/atomic.ts";
import { loadSweep, runSweep, sweepSummary } from "../sweep.ts";
import { failer } from "./_shared.ts";

const USAGE = "usage: deno task sweep <sweep.jsonc> [--retry-failed]";
const fail: (msg: string, code?: number) => never = failer("sweep");

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { "retry-failed": { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  });
} catch (e) {
  fail(`${(e as Error).message}\n${USAGE}`);
}
if (parsed.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (parsed.positionals.length !== 1) fail(`expected one sweep file\n${USAGE}`);
try {
  const spec = await loadSweep(parsed.positionals[0]);
  const { dir, trials, statuses } = await runSweep(spec, {
    retryFailed: parsed.values["retry-failed"],
    info: (l) => console.log(l),
  });
  const summary = sweepSummary(spec, trials, statuses);
  await writeFileAtomic(join(dir, "summary.md"), summary + "\n");
  console.log(`\n${summary}\n${join(dir, "summary.md")}`);
} catch (e) {
  fail((e as Error).message, 1);
}
