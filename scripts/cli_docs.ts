/**
 * Generates docs/cli.md, the command-line reference, from the commands' declarations (each command declares its
 * flags once; see lib/experiment/cli/_command.ts).
 *
 *   deno run --allow-read --allow-write=docs scripts/cli_docs.ts           # rewrite docs/cli.md
 *   deno run --allow-read scripts/cli_docs.ts --check                      # exit 1 when it is out of date
 *
 * tests/cli/cli_docs_test.ts fails when the committed file differs from what this renders.
 *
 * @module
 */
import {
  type Command,
  flagDefault,
  flagHelp,
  flagSyntax,
  runMain,
  usageLine,
} from "../lib/experiment/cli/_command.ts";
import { ANALYZE } from "../lib/experiment/cli/analyze.ts";
import { CORPUS } from "../lib/experiment/cli/corpus.ts";
import { EVAL } from "../lib/experiment/cli/eval.ts";
import { EXPERIMENT } from "../lib/experiment/cli/experiment.ts";
import { GENERATE } from "../lib/experiment/cli/generate.ts";
import { REPORT } from "../lib/experiment/cli/report.ts";
import { SWEEP } from "../lib/experiment/cli/sweep.ts";
import { TRIAL } from "../lib/experiment/cli/trial.ts";
import { ACCUM_COMPARE } from "../experiments/accum_compare.ts";
import { ARCH_COMPARE } from "../experiments/arch_compare.ts";
import { LR_COMPARE } from "../experiments/lr_compare.ts";
import { PRECISION_COMPARE } from "../experiments/precision_compare.ts";
import { T5_REVERSE } from "../experiments/t5_reverse.ts";
import { AB } from "../bench/ab.ts";
import { ANALYSIS_TIME } from "../bench/analysis_time.ts";
import { ATTENTION_MEMORY } from "../bench/attention_memory.ts";
import { COMPARE } from "../bench/compare.ts";
import { CORPUS_MEMORY } from "../bench/corpus_memory.ts";
import { GENERATE_THROUGHPUT } from "../bench/generate_throughput.ts";
import { LIBRARY_VS_CLI } from "../bench/library_vs_cli.ts";
import { SIMD_PEAK } from "../bench/simd_peak.ts";
import { TRAIN_THROUGHPUT } from "../bench/train_throughput.ts";
import { VS_PYTORCH } from "../bench/vs_pytorch.ts";
import { WEBGPU_KERNELS } from "../bench/webgpu_kernels.ts";
import { BUILD_NPM, BUILD_PLAYGROUND, BUILD_WASM, CLI_DOCS, CONFIG_DOCS, SIZE } from "./_commands.ts";

/** The generated file, relative to the repository root. */
export const GENERATED = "docs/cli.md";

/** Every command, in the order docs/cli.md lists them, under its section's title. */
export const COMMANDS: readonly { section: string; commands: readonly Command[] }[] = [
  { section: "Tasks", commands: [EXPERIMENT, EVAL, GENERATE, REPORT, ANALYZE, SWEEP, CORPUS] },
  {
    section: "Research scripts (experiments/)",
    commands: [ARCH_COMPARE, ACCUM_COMPARE, LR_COMPARE, PRECISION_COMPARE, T5_REVERSE],
  },
  {
    section: "Benches (bench/; see bench/README.md)",
    commands: [
      TRAIN_THROUGHPUT,
      GENERATE_THROUGHPUT,
      COMPARE,
      VS_PYTORCH,
      AB,
      LIBRARY_VS_CLI,
      ANALYSIS_TIME,
      ATTENTION_MEMORY,
      CORPUS_MEMORY,
      SIMD_PEAK,
      WEBGPU_KERNELS,
    ],
  },
  {
    section: "Scripts (scripts/)",
    commands: [BUILD_NPM, BUILD_PLAYGROUND, BUILD_WASM, CONFIG_DOCS, CLI_DOCS, SIZE],
  },
  { section: "Started by other commands", commands: [TRIAL] },
];

/** The flag style, one bullet per entry (wrapped when rendered). */
const STYLE: readonly string[] = [
  "**Flags** are kebab-case long flags: `--max-tokens 500` or `--max-tokens=500`. The snake_case spelling of " +
  "the same flag works too (`--max_tokens`), and messages name a flag the way you typed it. A switch takes no " +
  "value (`--greedy`). `--` ends the flags. `-h` or `--help` prints the command's page (exit 0).",
  "**Errors** are one line on stderr, starting with the command's name, and exit 2: an unknown flag gets " +
  "`unknown flag --bogus; see deno task eval --help`, with `(did you mean --max-tokens?)` when a flag is near; " +
  'a bad value names the flag and what it expects: `--threads: expected an integer >= 1, got "abc"`. No command ' +
  "or research script prints a stack trace.",
  "**Paths you type** (a config file, run directories, `--out`, `--figures`, `--corpus`, `--root`) are taken " +
  "from the folder you typed the command in: `deno task` runs every task at the repository root and sets " +
  "`INIT_CWD` to that folder, so `cd configs && deno task experiment tiny.jsonc` works. A path that does not " +
  "exist says where it was looked for. What a run writes by itself (`run.out_dir`, `runs/` by default) stays " +
  "in the repository's `runs/`.",
  "**Where tasks may write**: `experiment`, `eval`, `analyze` and `sweep` may write only under `runs/` " +
  "(deno.json gives them `--allow-write=runs`). Output paths are checked before any work starts; one outside " +
  "`runs/` fails at once and names the `deno run --allow-write=…` form that may write it. `report` may write " +
  "anywhere; without `--out` it writes `<run>/report.html` for one run and a new `runs/compare-<stamp>.html` " +
  "for several (never over an existing file).",
];

const WIDTH = 110;

/**
 * `text` as lines of at most WIDTH columns (the first starting with `first`, the rest with `indent`), the way
 * deno fmt wraps Markdown: greedy, an inline code span never broken.
 */
function wrap(text: string, first = "", indent = ""): string {
  const words = text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    const start = lines.length === 0 ? first : indent;
    if (line !== start && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else line = line === start ? line + word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join("\n");
}

/** Plain text for Markdown: `<` escaped outside code spans (so `<run>` is not read as HTML). */
function md(text: string): string {
  return text.split(/(`[^`]*`)/).map((part, i) => i % 2 === 1 ? part : part.replaceAll("<", "\\<")).join("");
}

/**
 * The commands whose examples tests/docs/commands_test.ts cannot run, and why (the block says so in a
 * `<!-- no-run: … -->` marker); every other command's examples are run with small settings.
 */
const NO_RUN: Readonly<Record<string, string>> = {
  corpus: "downloads the corpora (npm pack, apt's bible-kjv)",
  ab: "needs a second checkout of the repository (--old)",
  vs_pytorch:
    "trains for minutes on both sides; needs /usr/bin/python3 with torch (apt-get install python3-torch)",
  trial: "deno task sweep starts it inside a sweep folder",
  build_playground: "--serve serves the page until stopped (Ctrl-C)",
  build_wasm: "rewrites the committed kernels with a compiler from the npm registry; .ci/run runs --check",
};

/** One command's section. */
function renderCommand(cmd: Command): string {
  const title = cmd.run.startsWith("deno task") ? cmd.run : cmd.name;
  const parts = [`### \`${title}\``, wrap(md(cmd.description)), "```text\n" + usageLine(cmd) + "\n```"];
  const items = [
    ...cmd.positionals.map((p) =>
      wrap(`\`${p.name}\`${p.optional ? " (optional)" : ""}: ${md(p.description)}`, "- ", "  ")
    ),
    ...Object.entries(cmd.flags).map(([k, f]) => {
      const d = f.default !== undefined ? `\`${flagDefault(f)}\`` : md(flagDefault(f));
      return wrap(`\`${flagSyntax(k, f)}\` (default ${d}): ${md(flagHelp(f))}`, "- ", "  ");
    }),
  ];
  parts.push(items.join("\n"));
  parts.push(
    (NO_RUN[cmd.name] === undefined ? "" : `<!-- no-run: ${NO_RUN[cmd.name]} -->\n\n`) +
      "```sh\n" + cmd.examples.join("\n") + "\n```",
  );
  return parts.join("\n\n");
}

/** The content of docs/cli.md. */
export function renderCliDocs(): string {
  const out = [
    "# Command-line reference",
    "<!-- generated by scripts/cli_docs.ts from the commands' declarations: edit those, then run " +
    "deno run --allow-read --allow-write=docs scripts/cli_docs.ts -->",
    "## Flag style",
    STYLE.map((item) => wrap(item, "- ", "  ")).join("\n"),
  ];
  for (const { section, commands } of COMMANDS) {
    out.push(`## ${section}`, ...commands.map(renderCommand));
  }
  return out.join("\n\n") + "\n";
}

if (import.meta.main) {
  await runMain(CLI_DOCS, ({ values: { check } }) => {
    const url = new URL(`../${GENERATED}`, import.meta.url);
    if (!check) Deno.writeTextFileSync(url, renderCliDocs());
    else if (Deno.readTextFileSync(url) !== renderCliDocs()) {
      console.error(
        `${GENERATED} is out of date: run deno run --allow-read --allow-write=docs scripts/cli_docs.ts`,
      );
      Deno.exit(1);
    }
  });
}
