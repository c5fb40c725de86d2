/**
 * The library's config and data are as easy to get right as the CLI's: a config object (partial, merged over
 * the defaults like a file) is validated with the CLI's one-line messages wherever it goes in (`parseConfig`,
 * `ConfigSchema.parse`, `loadConfig`, `runExperiment`), `runExperiment` trains on text held in memory (its hash
 * recorded and checked on resume), and it prints its info and progress lines unless told to be quiet.
 *
 * @module
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, ConfigSchema, loadConfig, parseConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { assertEquals, assertRejects, assertThrows, assertTrue } from "../_helpers/assert.ts";
import { ROOT } from "../_helpers/task.ts";

const TYPO = "<config object>: model.n_layr: unknown key (did you mean model.n_layer?)";
/** `{model: {n_layr: 2}}`, typed as a script without types would pass it. */
const typo = () => JSON.parse('{ "model": { "n_layr": 2 } }');

/** A tiny model (configs/tiny.jsonc's) as a partial config object, writing under `out`. */
function tiny(out: string, train: Record<string, unknown> = {}) {
  return {
    model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 },
    train: {
      max_steps: 10,
      batch_size: 4,
      warmup_steps: 2,
      eval_interval: 5,
      eval_steps: 2,
      checkpoint_interval: 5,
      log_interval: 5,
      sample_tokens: 0,
      ...train,
    },
    run: { name: "text", out_dir: out },
  };
}

const TEXT = "the quick brown fox jumps over the lazy dog. ".repeat(60);

Deno.test("parseConfig and ConfigSchema.parse: a typo gets the CLI's one line, not zod's issue array", () => {
  const e = assertThrows(() => parseConfig({ model: { n_layr: 2 } }));
  assertTrue(e instanceof ConfigError, `${e.name}: ${e.message}`);
  assertEquals(e.message, TYPO);
  assertEquals(assertThrows(() => ConfigSchema.parse({ model: { n_layr: 2 } })).message, TYPO);
  assertEquals(
    assertThrows(() => parseConfig({ train: { max_steps: 0 } })).message,
    "<config object>: train.max_steps: expected a positive integer, got 0",
  );
  assertEquals(parseConfig({ model: { n_layer: 2 } }).model.n_layer, 2);
});

Deno.test("loadConfig takes a partial config object, merged over the defaults, then --set overrides", () => {
  const { config, sources } = loadConfig({ config: { model: { n_layer: 2 } }, sets: ["train.max_steps=3"] });
  assertEquals([config.model.n_layer, config.model.n_embd, config.train.max_steps], [2, 128, 3]);
  assertEquals(sources, ["<config object>", "--set train.max_steps=3"]);
  // over a file: the file, then the object, then the overrides
  const t = loadConfig({ path: "configs/tiny.jsonc", config: { model: { n_layer: 2 } } }).config;
  assertEquals([t.model.n_layer, t.model.n_embd], [2, 32]);
  assertEquals(assertThrows(() => loadConfig({ config: typo() })).message, TYPO);
});

Deno.test("runExperiment validates a config object with the same message", async () => {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const e = await assertRejects(() =>
    runExperiment({ config: { ...tiny(out), ...typo() }, text: TEXT, quiet: true })
  );
  assertEquals(e.message, TYPO);
});

Deno.test("runExperiment trains on in-memory text; the text's hash is recorded and a resume checks it", async () => {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  let n = 0;
  const r = await runExperiment({
    config: tiny(out),
    text: TEXT,
    quiet: true,
    noReport: true,
    shouldStop: () => ++n >= 5,
  });
  assertEquals([r.status, r.step], ["interrupted", 5]);
  const m = JSON.parse(await readFile(join(r.runDir, "manifest.json"), "utf8"));
  assertEquals(m.train_tokens + m.val_tokens, TEXT.length, "every character of the text, split");
  assertEquals(m.vocab_size, new Set(TEXT).size);
  const other = TEXT.replace("fox", "cat");
  await assertRejects(
    () => runExperiment({ resumeDir: r.runDir, text: other, quiet: true, noReport: true }),
    "the text changed since the run started",
  );
  const done = await runExperiment({ resumeDir: r.runDir, text: TEXT, quiet: true, noReport: true });
  assertEquals([done.status, done.step], ["completed", 10]);
  // {train, val}: the two texts as given
  const split = await runExperiment({
    config: tiny(out, { max_steps: 2 }),
    text: { train: TEXT, val: TEXT.slice(0, 200) },
    quiet: true,
    noReport: true,
  });
  const ms = JSON.parse(await readFile(join(split.runDir, "manifest.json"), "utf8"));
  assertEquals([ms.train_tokens, ms.val_tokens], [TEXT.length, 200]);
  assertTrue(ms.data_hash !== m.data_hash && /^[0-9a-f]{64}$/.test(ms.data_hash), "a hash of the texts");
});

/** Runs a script at a temp path that imports the runner, with stdout and stderr piped (not a terminal). */
async function runScript(code: string): Promise<{ stdout: string; stderr: string }> {
  const file = await Deno.makeTempFile({ prefix: "lcm-script-", suffix: ".ts" });
  try {
    await writeFile(file, code);
    const out = await new Deno.Command("deno", {
      args: ["run", "-A", `--config=${join(ROOT, "deno.json")}`, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    return { stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await rm(file);
  }
}

Deno.test("runExperiment prints its info lines and a progress line per log interval by default; quiet: true silences it", async () => {
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  const runner = pathToFileURL(join(ROOT, "lib/experiment/runner.ts")).href;
  const script = (quiet: boolean) =>
    `import { runExperiment } from "${runner}";
await runExperiment({ config: ${JSON.stringify(tiny(out))}, text: ${JSON.stringify(TEXT)}, noReport: true${
      quiet ? ", quiet: true" : ""
    } });
`;
  const loud = await runScript(script(false));
  const lines = loud.stdout.trim().split("\n");
  assertTrue(lines.some((l) => l.startsWith("data: in-memory text")), loud.stdout);
  assertTrue(lines.some((l) => l.startsWith("model: gpt")), loud.stdout);
  assertEquals(lines.filter((l) => /^step \d+\/10 /.test(l)).map((l) => l.split(" ")[1]), ["5/10", "10/10"]);
  const quiet = await runScript(script(true));
  assertEquals([quiet.stdout, quiet.stderr], ["", ""]);
});
