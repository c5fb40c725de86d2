/**
 * Turning a documented shell block into commands the docs test can run in seconds: the block's logical lines
 * (continuations joined, comments, `wait` and a trailing `&` dropped, variable assignments kept as a prelude),
 * and each command with small settings: a tiny model and a few steps for `experiment` and `sweep`, a few steps
 * or tokens for the research scripts and benches, every `runs/…` path moved into the test's own folder, and
 * outputs named outside `runs/` moved into a temporary folder (outside `runs/` still, so a task that may only
 * write under `runs/` meets the same wall as on the user's machine). The research scripts have no output flag:
 * they write into `runs/` as documented, and the caller removes what they made. `npx -y deno@…` becomes `deno`
 * (the Deno that runs this test). The small settings use today's flag names of each command.
 *
 * @module
 */
/** A command of a block, with the variable assignments before it in the same block. */
export interface BlockCommand {
  /** The command as documented (one logical line, comment dropped). */
  command: string;
  /** `NAME=value` lines of the block before it. */
  prelude: string[];
}

/** The logical command lines of a shell block. */
export function blockCommands(text: string): BlockCommand[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s*\$ /, "");
    if (line.trimEnd().endsWith("\\")) {
      pending += line.trimEnd().slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  if (pending) logical.push(pending);
  const prelude: string[] = [];
  const out: BlockCommand[] = [];
  for (const l of logical) {
    const line = stripComment(l).trim().replace(/\s*&$/, "").replace(/\s+/g, " ");
    if (line === "" || line === "wait") continue;
    if (/^[A-Za-z_]\w*=/.test(line) && !/^[A-Za-z_]\w*=\S*\s+\S/.test(line.replace(/"[^"]*"/g, '""'))) {
      prelude.push(line);
    } else out.push({ command: line, prelude: [...prelude] });
  }
  return out;
}

/** `line` without a `#` comment (a `#` after whitespace, outside quotes). */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** Overrides that make any quickstart-shaped config train a tiny model for a few steps on one thread. */
export const TINY_SETS = [
  "model.n_layer=1",
  "model.n_head=2",
  "model.n_embd=32",
  "model.block_size=32",
  "train.max_steps=2",
  "train.batch_size=4",
  "train.warmup_steps=1",
  "train.eval_interval=2",
  "train.eval_steps=1",
  "train.checkpoint_interval=2",
  "train.log_interval=1",
  "train.log_interval_detail=1",
  "train.sample_tokens=8",
  "run.threads=1",
];
const tinyFlags = TINY_SETS.map((s) => `--set ${s}`).join(" ");

/** Flags appended to a script run with `deno run` (or `deno bench`), by script. */
const SCRIPT_FLAGS: [RegExp, (tmp: string) => string][] = [
  [/^experiments\/arch_compare\.ts$/, () => "--steps 1 --variants rope"],
  [/^experiments\/lr_compare\.ts$/, () => "--steps 1 --lrs 3e-3"],
  [/^experiments\/accum_compare\.ts$/, () => "--steps 1"],
  [/^experiments\/precision_compare\.ts$/, () => "--steps 1"],
  [/^experiments\/t5_reverse\.ts$/, () => "--eval 2 --set train.max_steps=2"],
  [/^bench\/library_vs_cli\.ts$/, () => "--steps 10"],
  [/^bench\/simd_peak\.ts$/, () => "--rounds 1"],
  [/^bench\/train_throughput\.ts$/, () => "--steps 1 --warmup 0"],
  [/^bench\/generate_throughput\.ts$/, () => "--tokens 4 --repeats 1"],
  [/^bench\/attention_memory\.ts$/, () => "--lengths 64"],
  [/^bench\/corpus_memory\.ts$/, () => "--cases py --steps 1 --throughput false --python bench"],
  [/^bench\/analysis_time\.ts$/, () => "--windows 4"],
  [
    /^bench\/compare\.ts$/,
    (tmp) => `--shapes A --steps 1 --gen 0 --extras none --rounds 1 --out ${tmp}/bench-results`,
  ],
];

/** Flags appended to a `deno task` command, by task. */
const TASK_FLAGS: Record<string, (dir: string, command: string) => string> = {
  experiment: (dir, command) =>
    /--resume\b/.test(command)
      ? ""
      : `${tinyFlags}${/run\.out_dir=/.test(command) ? "" : ` --set run.out_dir=${dir}`}`,
  sweep: (dir, command) => `${tinyFlags}${/--root\b/.test(command) ? "" : ` --root ${dir}/sweeps`}`,
  eval: () => "--max-tokens 2000 --prompts 2",
};

/** Where a block's commands write. */
export interface Scratch {
  /** The block's folder under `runs/`, relative to the root: every `runs/…` path of the block moves into it. */
  dir: string;
  /** An absolute folder outside the repository for the outputs a block names outside `runs/`. */
  tmp: string;
}

/** A documented command made small, ready for `bash -c`. */
export interface SmallCommand {
  /** The bash script: the block's assignments, then the command. */
  script: string;
  /** Whether it is a script that writes its runs into `runs/` itself (no out-dir flag): the caller removes them. */
  writesRuns: boolean;
  /** Run directories it names that the docs leave to the reader (`runs/quickstart-…`, `runs/a`), relative to the root. */
  placeholders: string[];
}

/** The path of a run directory that stands for "a run of yours": `name-…`, a dated run name, `a` or `b`. */
const PLACEHOLDER = /^(?:[\w.-]*…|[\w.-]+-\d{8}-\d{6}|[ab])$/;

/** `cmd` (a command of a block, with its prelude) made small, with every path moved into `s`. */
export function smallCommand(cmd: BlockCommand, s: Scratch): SmallCommand {
  const move = (text: string) =>
    text
      .replace(/^npx -y deno@[\d.]+ /, "deno ")
      .replace(/(--(?:out|figures)[ =])(?!runs\/)(\S+)/g, `$1${s.tmp}/$2`)
      .replace(/(^|[\s="'[])runs\//g, `$1${s.dir}/`);
  let command = move(cmd.command);
  const prelude = cmd.prelude.map(move);
  const placeholders = new Set<string>();
  const inDir = new RegExp(`${s.dir.replace(/[.]/g, "\\.")}/([^\\s"'/]+)`, "g");
  for (const m of [...prelude, command].join("\n").matchAll(inDir)) {
    if (PLACEHOLDER.test(m[1])) placeholders.add(`${s.dir}/${m[1]}`);
  }
  let writesRuns = false;
  const task = /^deno task ([\w:-]+)/.exec(command);
  if (task) {
    const flags = TASK_FLAGS[task[1]]?.(s.dir, [...prelude, command].join("\n")) ?? "";
    if (flags) command += ` ${flags}`;
  } else {
    const script = /^deno (?:run|bench)\b.*?\s((?:experiments|bench|scripts|docs)\/\S+\.ts)\b/.exec(command)
      ?.[1];
    const flags = script ? SCRIPT_FLAGS.find(([re]) => re.test(script))?.[1](s.tmp) : undefined;
    if (flags) command += ` ${flags}`;
    writesRuns = script !== undefined && /--allow-write=runs\b/.test(command);
  }
  return { script: [...prelude, command].join("\n"), writesRuns, placeholders: [...placeholders] };
}
