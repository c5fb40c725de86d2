/**
 * Old tree against new tree, alternating on one machine: runs `bench/compare.ts --rounds 1` in the old checkout,
 * then in the new one, `--rounds N` times, and tabulates per shape and column the median tokens/s of each tree and
 * the ratio new ÷ old (the check a structural change must pass: no median ratio below 0.97 without a profile that
 * explains it).
 *
 * ```sh
 * git worktree add ../base <old-commit>      # the old tree, once
 * deno run -A bench/ab.ts --old ../base [--new .] [--rounds 3] [--out bench/results] [-- <compare.ts flags>]
 * ```
 *
 * Flags after `--` go to every compare.ts run (default `--extras threads2 --gen 200`). Writes
 * `<out>/ab-<YYYY-MM-DD-HHMM>.json` (every compare run's rows) and `.md` (the table), and prints the table.
 *
 * @module
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Command, runMain, UsageError } from "../lib/experiment/cli/_command.ts";
import { stamp } from "./compare.ts";

/** One row of a compare.ts result: a training or generation shape with our figures per column. */
interface CompareRow {
  label: string;
  kind: string;
  [column: string]: unknown;
}

/** The tokens/s of each of our columns in a compare.ts row (torch and ratios left out). */
function oursColumns(row: CompareRow): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) {
    if (!k.startsWith("ours") || v === null || typeof v !== "object") continue;
    const tps = (v as { tokens_per_s?: unknown }).tokens_per_s;
    if (typeof tps === "number") out[k] = tps;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function runCompare(tree: string, out: string, flags: string[]): Promise<CompareRow[]> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/compare.ts", "--rounds", "1", "--out", out, ...flags],
    cwd: tree,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`bench/compare.ts in ${tree} exited with ${code}`);
  const json = (await readdir(out)).find((f) => f.endsWith(".json"));
  if (!json) throw new Error(`bench/compare.ts in ${tree} wrote no JSON into ${out}`);
  return (JSON.parse(await readFile(join(out, json), "utf8")) as { rows: CompareRow[] }).rows;
}

/** The declaration of `bench/ab.ts`. */
export const AB = {
  name: "ab",
  run: "deno run -A bench/ab.ts",
  description:
    "Old tree against new tree, alternating on one machine: runs bench/compare.ts --rounds 1 in the " +
    "old checkout, then in the new one, --rounds N times, and tabulates per shape and column the median " +
    "tokens/s of each tree and the ratio new ÷ old (a structural change must not bring a median ratio below " +
    "0.97 without a profile that explains it). Writes <out>/ab-<YYYY-MM-DD-HHMM>.json and .md and prints the " +
    "table.",
  positionals: [{
    name: "-- COMPARE_FLAGS",
    description: "after --: flags for every compare.ts run (default --extras threads2 --gen 200)",
    optional: true,
    variadic: true,
  }],
  flags: {
    old: {
      type: "string",
      value: "DIR",
      defaultText: "none (required)",
      description: "the old tree (a checkout)",
    },
    new: { type: "string", default: ".", value: "DIR", description: "the new tree" },
    rounds: { type: "integer", min: 1, default: 3, description: "alternating rounds" },
    out: { type: "string", default: "bench/results", value: "DIR", description: "output folder" },
  },
  examples: ["deno run -A bench/ab.ts --old ../base --rounds 3 -- --shapes B --gen 0"],
} as const satisfies Command;

if (import.meta.main) {
  await runMain(AB, async ({ values, positionals }) => {
    if (values.old === undefined) {
      throw new UsageError("--old DIR is required; see deno run -A bench/ab.ts --help");
    }
    if (positionals.length > 0 && !Deno.args.includes("--")) {
      throw new UsageError(`unexpected argument "${positionals[0]}" (compare.ts flags go after --)`);
    }
    const flags = positionals.length > 0 ? positionals : ["--extras", "threads2", "--gen", "200"];
    const rounds = values.rounds;
    const trees = { old: resolve(values.old), new: resolve(values.new) };
    const tmp = await Deno.makeTempDir({ prefix: "lcm-ab-" });
    // per "label|kind|column" → per tree → tokens/s of each round
    const seen = new Map<string, { old: number[]; new: number[] }>();
    const raw: { round: number; tree: string; rows: CompareRow[] }[] = [];
    const started = new Date();
    for (let r = 1; r <= rounds; r++) {
      for (const which of ["old", "new"] as const) {
        console.log(`== round ${r}/${rounds}: ${which} (${trees[which]})`);
        const rows = await runCompare(trees[which], join(tmp, which), flags);
        raw.push({ round: r, tree: which, rows });
        for (const row of rows) {
          for (const [col, tps] of Object.entries(oursColumns(row))) {
            const key = `${row.label}|${row.kind}|${col}`;
            if (!seen.has(key)) seen.set(key, { old: [], new: [] });
            seen.get(key)![which].push(tps);
          }
        }
      }
    }
    await rm(tmp, { recursive: true, force: true });
    const lines = [
      `Old ${trees.old} vs new ${trees.new}, ${rounds} alternating rounds of \`bench/compare.ts --rounds 1 ${
        flags.join(" ")
      }\`, ${started.toISOString()}.`,
      "",
      "| shape | kind | column | old tok/s (median) | new tok/s (median) | new ÷ old |",
      "| --- | --- | --- | ---: | ---: | ---: |",
    ];
    let worst = Infinity;
    for (const [key, v] of seen) {
      const [label, kind, col] = key.split("|");
      const o = median(v.old), n = median(v.new);
      worst = Math.min(worst, n / o);
      lines.push(
        `| ${label} | ${kind} | ${col} | ${o.toFixed(1)} | ${n.toFixed(1)} | ${(n / o).toFixed(3)} |`,
      );
    }
    lines.push(
      "",
      `Lowest median ratio: ${worst.toFixed(3)} (a ratio below 0.97 needs a profile that explains it).`,
    );
    const md = lines.join("\n") + "\n";
    console.log("\n" + md);
    const name = `ab-${stamp(started)}`;
    await mkdir(values.out, { recursive: true });
    await writeFile(join(values.out, `${name}.md`), md);
    await writeFile(join(values.out, `${name}.json`), JSON.stringify({ trees, flags, rounds, raw }, null, 1));
  });
}
