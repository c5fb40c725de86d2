/**
 * Sweep files are input, not code: `executor.slurm.extra` takes scheduling options only, with checked values;
 * options that choose files, directories, environment or commands are refused, naming the option, before
 * anything is submitted. No Slurm needed: a stand-in `sbatch` records whether it was ever called.
 */
import { join } from "node:path";
import { SLURM_OPTIONS, slurmOptionProblem } from "../../lib/experiment/slurm_options.ts";
import { loadSweep, validateSweep } from "../../lib/experiment/sweep.ts";
import { SweepError } from "../../lib/report/sweepdir.ts";
import { sbatchScript } from "../../lib/experiment/sweep_exec.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";
import { sweepCliArgs, sweepSpec } from "./_sweep.ts";

const corpus = await makeCodeCorpus(1, 500);
const canSpawn = Deno.permissions.querySync({ name: "run", command: "deno" }).state === "granted";

const withExtra = (extra: unknown[]) => sweepSpec(corpus, { executor: { slurm: { extra } } });

/** Every refused option, long and short, with the words its message must hold. */
const REFUSED: [string, string][] = [
  ["--output=/etc/passwd", "--output is refused: it chooses a file"],
  ["--error=/etc/shadow", "--error is refused: it chooses a file"],
  ["--input=/etc/hosts", "--input is refused: it chooses a file"],
  ["--open-mode=append", "--open-mode is refused: it chooses a file"],
  ["--chdir=/", "--chdir is refused: it chooses a directory"],
  ["--export=ALL,LD_PRELOAD=/tmp/x.so", "--export is refused: it sets the job's environment"],
  ["--export-file=/tmp/env", "--export-file is refused: it sets the job's environment"],
  ["--get-user-env", "--get-user-env is refused: it sets the job's environment"],
  ["--wrap=rm", "--wrap is refused: it runs a command"],
  ["--prolog=/tmp/x", "--prolog is refused: it runs a command"],
  ["--epilog=/tmp/x", "--epilog is refused: it runs a command"],
  ["--container=/tmp/img", "--container is refused: it runs a command"],
  ["--uid=0", "--uid is refused: it changes who runs the job"],
  ["--job-name=x", "--job-name is refused: it is set by the sweep's name"],
  ["--array=0-99", "--array is refused: it is set by the sweep"],
  ["--cpus-per-task=8", "--cpus-per-task is refused: it is set by executor.slurm.cpus_per_task"],
  ["--licenses=x", "--licenses is refused: it is not one of the scheduling options accepted (partition, qos"],
  ["-o", "-o (--output) is refused: it chooses a file"],
  ["-e/tmp/x", "-e (--error) is refused: it chooses a file"],
  ["-i", "-i (--input) is refused: it chooses a file"],
  ["-D/", "-D (--chdir) is refused: it chooses a directory"],
  ["-pdebug", "-p (--partition): short options are not accepted; write --partition=VALUE"],
  ["-Z", "-Z is refused: short options are not accepted"],
  ["--partition=debug\n#SBATCH --output=/x", "--partition: expected partition names"],
  ["--qos=short;id", "--qos: expected a QOS name"],
  ["--time=1 hour", "--time: expected a time limit"],
  ["--mem=lots", "--mem: expected a size"],
  ["--partition", "--partition needs a value"],
  ["--requeue=yes", "--requeue takes no value"],
  ["partition=debug", 'expected "--option=value" or "--flag", got "partition=debug"'],
];

Deno.test("slurm options: each refused option is named, with why, at validation", () => {
  for (const [entry, words] of REFUSED) {
    const e = assertThrows(() => validateSweep(withExtra([entry]), "/x/s.jsonc"), "/x/s.jsonc: ", words);
    assertTrue(e instanceof SweepError);
    assertTrue(e.message.startsWith(`/x/s.jsonc: executor.slurm.extra[0]: `), e.message);
  }
  const e = assertThrows(() => validateSweep(withExtra(["--qos=short", "--output=/x"]), "s.jsonc"));
  assertTrue(e.message.includes("executor.slurm.extra[1]: --output is refused"), e.message);
  assertThrows(
    () => validateSweep(withExtra([3]), "s.jsonc"),
    'executor.slurm.extra: expected a list of "--option',
  );
});

Deno.test("slurm options: scheduling options with good values pass, and become #SBATCH lines", () => {
  const good = [
    "--partition=debug,gpu",
    "--qos=short",
    "--account=proj-1",
    "--time=1-12:00:00",
    "--time=30",
    "--mem=2G",
    "--mem-per-cpu=500M",
    "--gres=gpu:a100:2",
    "--gpus=1",
    "--constraint=a100&ib",
    "--nice=10",
    "--nice",
    "--exclude=node[01-03],gpu7",
    "--nodelist=node1",
    "--exclusive",
    "--requeue",
    "--signal=B:USR1@60",
    "--mail-type=END,FAIL",
  ];
  for (const g of good) assertEquals(slurmOptionProblem(g), null, g);
  const spec = validateSweep(withExtra(good), "s.jsonc");
  const script = sbatchScript(spec, "/tmp/sweeps/t");
  for (const g of good) assertTrue(script.includes(`\n#SBATCH ${g}\n`), g);
  for (const name of Object.keys(SLURM_OPTIONS)) assertTrue(!/^(output|error|chdir|export|wrap)$/.test(name));
});

Deno.test("slurm options: partition and mem are checked as the options they become", () => {
  assertThrows(
    () => validateSweep(sweepSpec(corpus, { executor: { slurm: { mem: "2G;x" } } }), "s.jsonc"),
    "executor.slurm.mem: expected a size",
  );
  assertThrows(
    () => validateSweep(sweepSpec(corpus, { executor: { slurm: { partition: "a b" } } }), "s.jsonc"),
    "executor.slurm.partition: expected partition names",
  );
  assertThrows(
    () => validateSweep(sweepSpec(corpus, { executor: { slurm: { partition: 3 } } }), "s.jsonc"),
    "executor.slurm.partition: expected a string",
  );
});

Deno.test({
  name: "slurm options: the sweep CLI refuses before anything is submitted (sbatch is never called)",
  ignore: !canSpawn,
  async fn() {
    const root = await Deno.makeTempDir();
    const bin = join(root, "bin"), called = join(root, "sbatch-called");
    await Deno.mkdir(bin);
    for (const c of ["sbatch", "squeue", "scontrol", "scancel"]) {
      await Deno.writeTextFile(join(bin, c), `#!/bin/sh\necho "$0 $*" >> ${called}\necho 1\n`);
      await Deno.chmod(join(bin, c), 0o755);
    }
    const file = join(root, "s.jsonc");
    await Deno.writeTextFile(file, JSON.stringify(withExtra(["--output=/etc/passwd"])));
    await assertRejects(() => loadSweep(file), "executor.slurm.extra[0]: --output is refused");
    const out = await new Deno.Command("deno", {
      args: sweepCliArgs(file, root, ["--executor", "slurm"], "deno,sbatch,squeue,scontrol,scancel"),
      env: { PATH: `${bin}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 2, err);
    assertEquals(
      err.trim(),
      `sweep: ${file}: executor.slurm.extra[0]: --output is refused: it chooses a file (the sweep writes its own ` +
        "logs)",
    );
    assertTrue(!(await Deno.stat(called).then(() => true, () => false)), "sbatch was called");
    assertEquals([...Deno.readDirSync(root)].map((e) => e.name).sort(), ["bin", "s.jsonc"]);
  },
});
