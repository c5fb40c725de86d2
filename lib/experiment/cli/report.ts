/**
 * `deno task report`: Renders the HTML report of one run, a comparison of several, or a sweep folder's
 * report. Its flags, defaults and examples are declared once in {@link REPORT} (`--help` prints them;
 * docs/cli.md lists them).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { writeFileAtomic } from "../../io/atomic.ts";
import { lossFigureSvg, reportFigureSvgs, writeReport } from "../../report/report.ts";
import { parseFigureFormat, writeFigures } from "../../report/export.ts";
import { writeSweepReport } from "../../report/sweep.ts";
import { pathExists } from "../../io/exists.ts";
import { RunDirError } from "../../report/rundir.ts";
import { type Command, helpPage, parseCommand, UsageError } from "./_command.ts";
import { checkWritable, existingPath, userPath } from "./_paths.ts";
import { stamp } from "../runner.ts";

/** The declaration of `deno task report`. */
export const REPORT = {
  name: "report",
  run: "deno task report",
  description:
    "Renders one self-contained HTML report for one run, or a comparison of several (overlaid curves, " +
    "config differences, every run's figures). Given a sweep folder (one with sweep.json) it writes the sweep " +
    "report instead: report.html, trials.csv and summary.md in the folder. The last line printed is the " +
    "report's path. A path that is not a run directory exits 2.",
  positionals: [{ name: "RUN_DIR", description: "a run directory, or a sweep folder", variadic: true }],
  flags: {
    out: {
      type: "string",
      short: "o",
      value: "FILE.html",
      defaultText: "<run>/report.html for one run, runs/compare-<stamp>.html for several",
      description: "where to write the report",
    },
    title: { type: "string", defaultText: "the run's name", description: "the report's title" },
    svg: {
      type: "string",
      value: "FILE.svg",
      defaultText: "none",
      description: "also write the loss figure as SVG",
    },
    figures: {
      type: "string",
      value: "DIR",
      defaultText: "none",
      description: "also write every figure as its own file into DIR (for papers and READMEs)",
    },
    format: {
      type: "string",
      choices: ["svg", "png"],
      defaultText: "svg",
      value: "FORMAT",
      description: "file format of --figures",
    },
  },
  examples: [
    "deno task report runs/tiny-20260101-120000",
    'deno task report runs/a runs/b --out runs/a-vs-b.html --title "a vs b"',
  ],
} as const satisfies Command;

/** Where the CLI prints; tests pass their own. */
export interface Io {
  /** Standard output, one line per call. */
  out: (line: string) => void;
  /** Standard error, one line per call. */
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/**
 * The default output path: `<run>/report.html` for one run (refreshed in place); for several,
 * `runs/compare-<stamp>.html` from `now`, with `-2`, `-3`… when that file exists (never overwritten).
 */
export function defaultOut(runDirs: readonly string[], now: Date = new Date()): string {
  if (runDirs.length === 1) return join(runDirs[0], "report.html");
  const base = join("runs", `compare-${stamp(now)}`);
  let out = `${base}.html`;
  for (let i = 2; existsSync(out); i++) out = `${base}-${i}.html`;
  return out;
}

/** Runs the CLI on `args` (without the program name); resolves to the exit code. Never throws. */
export async function main(args: string[], io: Io = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCommand(REPORT, args);
  } catch (e) {
    io.err(`report: ${(e as Error).message}`);
    return 2;
  }
  if (parsed.help) {
    io.out(helpPage(REPORT));
    return 0;
  }
  const { values, typed } = parsed;
  let runDirs: string[];
  try {
    runDirs = parsed.positionals.map((p) =>
      existingPath(p, (msg) => {
        throw new UsageError(msg);
      })
    );
  } catch (e) {
    io.err(`report: ${(e as Error).message}`);
    return 2;
  }
  for (const k of ["out", "svg", "figures"] as const) {
    const v = values[k];
    if (v !== undefined) values[k] = userPath(v);
  }
  if (runDirs.length === 1 && await pathExists(join(runDirs[0], "sweep.json"))) {
    // a sweep folder: the sweep report (report.html, trials.csv, summary.md in it)
    const ignored = ["out", "title", "svg", "figures", "format"].filter((k) =>
      values[k as keyof typeof values] !== undefined
    );
    if (ignored.length > 0) {
      io.err(
        `report: ${runDirs[0]} is a sweep folder: its report takes no ${
          ignored.map((k) => typed(k as keyof typeof values)).join(", ")
        }`,
      );
      return 2;
    }
    try {
      const { paths } = await writeSweepReport(runDirs[0]);
      for (const p of paths) io.out(p);
      return 0;
    } catch (e) {
      io.err(`report: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
  }
  const out = values.out ?? defaultOut(runDirs);
  const format = parseFigureFormat(values.format);
  try {
    if (values.format !== undefined && values.figures === undefined) {
      throw new UsageError(`${typed("format")} needs --figures DIR`);
    }
    // every output checked before any work
    const usage = (msg: string): never => {
      throw new UsageError(msg);
    };
    const denied = "this process may not write there (deno run needs --allow-write for it)";
    checkWritable(values.out === undefined ? out : `${typed("out")} ${out}`, out, usage, denied);
    if (values.svg !== undefined) checkWritable(`${typed("svg")} ${values.svg}`, values.svg, usage, denied);
    if (values.figures !== undefined) {
      checkWritable(`${typed("figures")} ${values.figures}`, join(values.figures, "x"), usage, denied);
    }
  } catch (e) {
    io.err(`report: ${(e as Error).message}`);
    return 2;
  }
  try {
    await writeReport(runDirs, out, { title: values.title });
    if (values.svg !== undefined) {
      await writeFileAtomic(values.svg, await lossFigureSvg(runDirs));
      io.out(values.svg);
    }
    if (values.figures !== undefined) {
      // every figure as its own file (for papers and READMEs)
      for (const path of await writeFigures(await reportFigureSvgs(runDirs), values.figures, format)) {
        io.out(path);
      }
    }
  } catch (e) {
    io.err(`report: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof RunDirError ? 2 : 1;
  }
  io.out(out);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
