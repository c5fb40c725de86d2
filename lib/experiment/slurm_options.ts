/**
 * What a sweep file may hand to `sbatch`. Sweep files are shared like configs, so they are input, not code:
 * `executor.slurm.extra` takes only scheduling options, each with a checked value; options that choose files,
 * directories, environment or commands (`--output`, `--error`, `--input`, `--chdir`, `--export`, `--wrap`, …)
 * are refused, naming the option, before anything is submitted. Each entry is one `#SBATCH` line, long form
 * (`--option=value`, or `--flag`).
 *
 * @module
 */

const NAME = /^[A-Za-z0-9_.-]+$/;
const NAMES = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
const INT = /^\d+$/;
// minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes, days-hours:minutes:seconds
const TIME = /^(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE)$/;
const SIZE = /^\d+[KMGT]?$/;
const HOSTLIST = /^[A-Za-z0-9_.,\[\]-]+$/;

/** A value check: its pattern and how it reads in a message; `flag` options take no value. */
interface ValueRule {
  pattern?: RegExp;
  expected: string;
  flag?: "only" | "optional";
}

const rule = (pattern: RegExp, expected: string): ValueRule => ({ pattern, expected });

/** The scheduling options accepted, long name → value rule. */
export const SLURM_OPTIONS: Readonly<Record<string, ValueRule>> = {
  partition: rule(NAMES, "partition names, comma-separated"),
  qos: rule(NAME, "a QOS name"),
  account: rule(NAME, "an account name"),
  reservation: rule(NAME, "a reservation name"),
  time: rule(TIME, 'a time limit ("30", "1:00:00", "2-00:00:00")'),
  "time-min": rule(TIME, 'a time limit ("30", "1:00:00", "2-00:00:00")'),
  mem: rule(SIZE, 'a size ("2G", "500M")'),
  "mem-per-cpu": rule(SIZE, 'a size ("2G", "500M")'),
  "mem-per-gpu": rule(SIZE, 'a size ("2G", "500M")'),
  gres: rule(/^[A-Za-z0-9_.:,-]+$/, 'generic resources ("gpu:1", "gpu:a100:2")'),
  gpus: rule(/^([A-Za-z0-9_.-]+:)?\d+$/, 'a GPU count ("1", "a100:2")'),
  "gpus-per-node": rule(/^([A-Za-z0-9_.-]+:)?\d+$/, 'a GPU count ("1", "a100:2")'),
  "gpus-per-task": rule(/^([A-Za-z0-9_.-]+:)?\d+$/, 'a GPU count ("1", "a100:2")'),
  "cpus-per-gpu": rule(INT, "an integer"),
  nodes: rule(/^\d+(-\d+)?$/, 'a node count ("1", "1-2")'),
  ntasks: rule(INT, "an integer"),
  "ntasks-per-node": rule(INT, "an integer"),
  constraint: rule(/^[A-Za-z0-9_.,:&|*\[\]-]+$/, 'node features ("a100", "intel&ib")'),
  nice: { pattern: /^-?\d+$/, expected: "an integer", flag: "optional" },
  priority: rule(INT, "an integer"),
  exclude: rule(HOSTLIST, 'a host list ("node1,node[3-5]")'),
  nodelist: rule(HOSTLIST, 'a host list ("node1,node[3-5]")'),
  exclusive: { pattern: /^(user|mcs|topo)$/, expected: "user, mcs or topo", flag: "optional" },
  hint: rule(/^(compute_bound|memory_bound|multithread|nomultithread)$/, "a hint"),
  begin: rule(/^[A-Za-z0-9:+-]+$/, 'a start time ("now+1hour", "2026-01-01T10:00")'),
  signal: rule(/^((B|R|RB):)?[A-Z0-9]+(@\d+)?$/, 'a signal ("B:USR1@60")'),
  "mail-type": rule(/^[A-Z_0-9]+(,[A-Z_0-9]+)*$/, 'mail events ("END,FAIL")'),
  "mail-user": rule(/^[A-Za-z0-9_.+-]+@[A-Za-z0-9.-]+$/, "an e-mail address"),
  requeue: { expected: "no value", flag: "only" },
  "no-requeue": { expected: "no value", flag: "only" },
  contiguous: { expected: "no value", flag: "only" },
};

/** Options the sweep sets itself, with where to set them instead. */
const SET_BY_SWEEP: Readonly<Record<string, string>> = {
  "cpus-per-task": "executor.slurm.cpus_per_task",
  "job-name": "the sweep's name",
  array: "the sweep (one task per trial) and executor.parallel",
  dependency: "the sweep (its report job)",
};

/** Short options → their long names (short forms are refused; the long name says what they are). */
const SHORT: Readonly<Record<string, string>> = {
  A: "account",
  a: "array",
  b: "begin",
  C: "constraint",
  c: "cpus-per-task",
  D: "chdir",
  d: "dependency",
  e: "error",
  G: "gpus",
  i: "input",
  J: "job-name",
  L: "licenses",
  M: "clusters",
  N: "nodes",
  n: "ntasks",
  o: "output",
  p: "partition",
  q: "qos",
  t: "time",
  w: "nodelist",
  x: "exclude",
};

/** Why `option` cannot be given (it chooses files, directories, environment or commands). */
function refusedBecause(option: string): string {
  if (SET_BY_SWEEP[option] !== undefined) return `it is set by ${SET_BY_SWEEP[option]}`;
  if (/^(output|error|input|open-mode)$/.test(option)) {
    return "it chooses a file (the sweep writes its own logs)";
  }
  if (/^(chdir|tmp)$/.test(option)) return "it chooses a directory";
  if (/^(export|export-file|get-user-env|propagate)$/.test(option)) return "it sets the job's environment";
  if (
    /^(wrap|prolog|epilog|task-prolog|task-epilog|container|container-id|bb|bbf|burst-buffer)$/.test(option)
  ) {
    return "it runs a command";
  }
  if (/^(uid|gid)$/.test(option)) return "it changes who runs the job";
  return `it is not one of the scheduling options accepted (${Object.keys(SLURM_OPTIONS).join(", ")})`;
}

/**
 * Checks one `executor.slurm.extra` entry; returns null when it is accepted, else why not (naming the option).
 */
export function slurmOptionProblem(entry: string): string | null {
  const short = /^-([A-Za-z])/.exec(entry);
  if (short !== null && !entry.startsWith("--")) {
    const long = SHORT[short[1]];
    const known = long !== undefined && SLURM_OPTIONS[long] !== undefined;
    const flag = `-${short[1]}${long ? ` (--${long})` : ""}`;
    if (known) return `${flag}: short options are not accepted; write --${long}=VALUE`;
    return `${flag} is refused: ${long ? refusedBecause(long) : "short options are not accepted"}`;
  }
  const m = /^--([A-Za-z][A-Za-z0-9-]*)(=(.*))?$/s.exec(entry);
  if (m === null) return `expected "--option=value" or "--flag", got ${JSON.stringify(entry)}`;
  const [, option, eq, value] = m;
  const r = SLURM_OPTIONS[option];
  if (r === undefined) return `--${option} is refused: ${refusedBecause(option)}`;
  if (eq === undefined) return r.flag ? null : `--${option} needs a value (${r.expected})`;
  if (r.flag === "only") return `--${option} takes no value`;
  if (!r.pattern!.test(value)) return `--${option}: expected ${r.expected}, got ${JSON.stringify(value)}`;
  return null;
}
