/**
 * The Slurm executor against a real Slurm: these run where `sbatch` answers and the cluster has an idle node
 * (`scripts/slurm-local.sh up` brings up a one-node Slurm; `.ci/run` does, as root). Elsewhere they are ignored,
 * except the check that `--executor slurm` without `sbatch` on PATH fails with a clear message.
 */
import { join } from "node:path";
import { validateSweep } from "../../lib/experiment/sweep.ts";
import { activeArrayJobs, runSweep } from "../../lib/experiment/sweep_exec.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { checkpointed, denoOnPath, sweepCliArgs, sweepSpec, trialStatus, waitFor } from "./_sweep.ts";

const corpus = await makeCodeCorpus();
const canSpawn = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

/** Slurm answers, and no other job holds the node (a busy cluster would only make these tests wait). */
async function slurmIdle(): Promise<boolean> {
  for (const c of ["sbatch", "squeue", "scontrol", "scancel"]) {
    if (Deno.permissions.querySync({ name: "run", command: c }).state !== "granted") return false;
  }
  try {
    const out = await new Deno.Command("squeue", {
      args: ["-h", "-t", "PD,R,CG"],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success && new TextDecoder().decode(out.stdout).trim() === "";
  } catch {
    return false;
  }
}
const slurm = canSpawn && await slurmIdle();

Deno.test({
  name: "slurm executor: without sbatch on PATH, a clear message",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const file = join(root, "s.jsonc");
    await Deno.writeTextFile(file, JSON.stringify(sweepSpec(corpus)));
    const empty = await Deno.makeTempDir();
    const out = await new Deno.Command(denoOnPath(), {
      args: sweepCliArgs(file, root, ["--executor", "slurm"]),
      env: { PATH: empty },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, err);
    assertTrue(err.includes("sbatch is not on PATH") && err.includes("slurm-local.sh up"), err);
  },
});

Deno.test({
  name: "slurm executor: the same sweep gives the same table as the local executor",
  ignore: !slurm,
  async fn() {
    const root = await Deno.makeTempDir();
    const extra = {
      grid: { "model.norm": ["layernorm", "rmsnorm"], "train.learning_rate": [0.003, 1e30] },
      seeds: [1, 2],
    };
    const local = await runSweep(
      validateSweep(sweepSpec(corpus, { ...extra, name: "loc" }), join(root, "a")),
      {
        root,
        parallel: 2,
      },
    );
    const lines: string[] = [];
    const viaSlurm = await runSweep(
      validateSweep(sweepSpec(corpus, { ...extra, name: "slu" }), join(root, "b")),
      {
        root,
        executor: "slurm",
        parallel: 2,
        pollSeconds: 0.5,
        info: (l) => lines.push(l),
      },
    );
    assertTrue(lines.some((l) => l.includes("submitted job array")), lines.join("\n"));
    assertEquals(viaSlurm.statuses.map((s) => s.status), local.statuses.map((s) => s.status));
    assertEquals(
      viaSlurm.statuses.map((s) => s.metrics),
      local.statuses.map((s) => s.metrics),
      "same metrics",
    );
    assertEquals(
      viaSlurm.statuses.map((s) => s.step),
      local.statuses.map((s) => s.step),
      "same steps (incl. divergence)",
    );
    assertTrue(viaSlurm.statuses.every((s) => s.executor === "slurm" && /^\d+_\d+$/.test(s.slurm_job ?? "")));
    // the dependent job writes the sweep report once the array has ended
    await waitFor(async () => {
      try {
        return (await Deno.stat(join(root, "slu", "report.html"))).isFile;
      } catch {
        return false;
      }
    }, 60);
  },
});

Deno.test({
  name:
    "slurm executor: Ctrl-C cancels the jobs; running it again finishes the rest without re-running completed trials",
  ignore: !slurm,
  async fn() {
    const root = await Deno.makeTempDir();
    const file = join(root, "s.jsonc");
    const extra = {
      name: "sk",
      set: [
        `data.paths=["${corpus}"]`,
        "train.max_steps=3000",
        "train.eval_interval=500",
        "train.checkpoint_interval=50",
        "train.sample_tokens=0",
      ],
      executor: { parallel: 2 },
    };
    await Deno.writeTextFile(file, JSON.stringify(sweepSpec(corpus, extra)));
    const dir = join(root, "sk");
    const status = (i: number) => trialStatus(dir, i);
    const cli = () =>
      new Deno.Command("deno", {
        args: sweepCliArgs(file, root, ["--executor", "slurm"], "deno,sbatch,squeue,scontrol,scancel"),
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    let p = cli();
    await waitFor(async () => (await status(0))?.status === "completed" && await checkpointed(dir, 2), 180);
    p.kill("SIGINT");
    let out = await p.output();
    const log = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 130, log + new TextDecoder().decode(out.stderr));
    assertTrue(log.includes("scancel"), log);
    const record = JSON.parse(await Deno.readTextFile(join(dir, "slurm", "slurm.json")));
    assertEquals((await activeArrayJobs(record.array_job_id)).length, 0, "no job of the array left");
    const done0 = (await status(0))!;
    const mid = await Promise.all([0, 1, 2, 3].map(status));
    assertTrue(mid.some((s) => s?.status === "cancelled"), JSON.stringify(mid.map((s) => s?.status)));
    p = cli();
    out = await p.output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr));
    const final = await Promise.all([0, 1, 2, 3].map(status));
    assertEquals(final.map((s) => s!.status), ["completed", "completed", "completed", "completed"]);
    assertEquals(final[0]!.ended_at, done0.ended_at, "trial 0 not re-run");
    for (let i = 0; i < 4; i++) {
      const runs = [...Deno.readDirSync(join(dir, `trial-${i}`))].filter((e) =>
        e.isDirectory && e.name.startsWith("sk-")
      );
      assertEquals(runs.length, 1, `trial ${i}: one run directory (resumed, not restarted)`);
    }
    const straight = await runSweep(validateSweep(sweepSpec(corpus, { ...extra, name: "straight" }), file), {
      root,
      parallel: 2,
    });
    assertEquals(final.map((s) => s!.metrics.val_loss), straight.statuses.map((s) => s.metrics.val_loss));
  },
});
