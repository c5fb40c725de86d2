/**
 * `deno task report <run-dir>... [--out report.html] [--title T] [--svg loss.svg] [--figures DIR [--format svg|png]]`
 *
 * Renders one self-contained HTML report for one run or a comparison of several; given a sweep folder (one with
 * `sweep.json`), writes the sweep report instead (`report.html`, `trials.csv`, `summary.md` in the folder). Default output:
 * `<run>/report.html` for one run, `compare.html` for several. The last line printed is the report's path.
 * A path that is not a run directory gives one line on stderr and exit code 2.
 *
 * @module
 */
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../../io/atomic.ts";
import { lossFigureSvg, reportFigureSvgs, writeReport } from "../../report/report.ts";
import { parseFigureFormat, writeFigures } from "../../report/export.ts";
import { writeSweepReport } from "../../report/sweep.ts";
import { pathExists } from "../../io/exists.ts";
import { RunDirError } from "../../report/rundir.ts";

const USAGE =
  "usage: report <run-dir>... [--out FILE.html] [--title TEXT] [--svg LOSS.svg] [--figures DIR [--format svg|png]]";

/** Where the CLI prints; tests pass their own. */
export interface Io {
  /** Standard output, one line per call. */
  out: (line: string) => void;
  /** Standard error, one line per call. */
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** The default output path: `<run>/report.html` for one run, `compare.html` for several. */
export function defaultOut(runDirs: readonly string[]): string {
  return runDirs.length === 1 ? join(runDirs[0], "report.html") : "compare.html";
}

/** Runs the CLI on `args` (without the program name); resolves to the exit code. Never throws. */
export async function main(args: string[], io: Io = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        title: { type: "string" },
        svg: { type: "string" },
        figures: { type: "string" },
        format: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    io.err(`report: ${e instanceof Error ? e.message : String(e)}`);
    io.err(USAGE);
    return 2;
  }
  const { values, positionals: runDirs } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (runDirs.length === 0) {
    io.err("report: no run directory given");
    io.err(USAGE);
    return 2;
  }
  if (runDirs.length === 1 && await pathExists(join(runDirs[0], "sweep.json"))) {
    // a sweep folder: the sweep report (report.html, trials.csv, summary.md in it)
    const ignored = ["out", "title", "svg", "figures", "format"].filter((k) =>
      values[k as keyof typeof values] !== undefined
    );
    if (ignored.length > 0) {
      io.err(
        `report: ${runDirs[0]} is a sweep folder: its report takes no ${
          ignored.map((k) => `--${k}`).join(", ")
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
  let format;
  try {
    format = parseFigureFormat(values.format);
    if (values.format !== undefined && values.figures === undefined) {
      throw new Error("--format needs --figures DIR");
    }
  } catch (e) {
    io.err(`report: ${(e as Error).message}`);
    io.err(USAGE);
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
