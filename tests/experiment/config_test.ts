import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  canonicalJson,
  type Config,
  ConfigError,
  configHash,
  ConfigSchema,
  DEFAULT_CONFIG,
  loadConfig,
  parseSetOverride,
} from "../../lib/experiment/config.ts";
import { type JsonValue, parseJsonc } from "../../lib/experiment/jsonc.ts";
import { assertEquals, assertNotEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CONFIGS = join(ROOT, "configs");
const FIX = fileURLToPath(new URL("../fixtures/configs/", import.meta.url));
const fx = (name: string) => join(FIX, name);
const EXT = (name: string) => join(FIX, "extends", name);

/** Expects loadConfig to throw a one-line ConfigError containing every string in `includes`. */
function configError(opts: { path?: string; sets?: string[] }, ...includes: string[]): ConfigError {
  const e = assertThrows(() => loadConfig(opts), ...includes);
  assertTrue(e instanceof ConfigError, `expected ConfigError, got ${e.name}: ${e.message}`);
  assertTrue(!e.message.includes("\n"), `message is not one line: ${e.message}`);
  return e;
}

/** A copy of DEFAULT_CONFIG with `patch` applied group by group. */
function withDefaults(patch: { [G in keyof Config]?: Partial<Config[G]> }): Config {
  const c = structuredClone(DEFAULT_CONFIG);
  return {
    model: { ...c.model, ...patch.model },
    train: { ...c.train, ...patch.train },
    data: { ...c.data, ...patch.data },
    run: { ...c.run, ...patch.run },
  };
}

// ---- defaults and shipped configs ----

Deno.test("config: {} resolves to DEFAULT_CONFIG, which is frozen", () => {
  assertEquals(ConfigSchema.parse({}), DEFAULT_CONFIG);
  assertTrue(Object.isFrozen(DEFAULT_CONFIG) && Object.isFrozen(DEFAULT_CONFIG.data.paths));
  assertEquals(DEFAULT_CONFIG.model.n_embd % DEFAULT_CONFIG.model.n_head, 0);
});

Deno.test("config: no path gives the embedded default with source <default>", () => {
  const { config, sources } = loadConfig({});
  assertEquals(config, DEFAULT_CONFIG);
  assertEquals(sources, ["<default>"]);
  config.train.max_steps = 1; // a mutable copy, not the frozen default
  assertEquals(DEFAULT_CONFIG.train.max_steps, loadConfig({}).config.train.max_steps);
});

Deno.test("config: configs/quickstart.jsonc resolves exactly to DEFAULT_CONFIG", () => {
  const path = join(CONFIGS, "quickstart.jsonc");
  const { config, sources } = loadConfig({ path });
  assertEquals(config, DEFAULT_CONFIG);
  assertEquals(sources, [path]);
});

Deno.test("config: quickstart.jsonc writes out every key (it is the reference)", () => {
  const raw = parseJsonc(readFileSync(join(CONFIGS, "quickstart.jsonc"), "utf8"));
  assertEquals(raw, DEFAULT_CONFIG as unknown as JsonValue);
});

Deno.test("config: the README's config reference lists every key with its default", () => {
  const readme = readFileSync(join(CONFIGS, "..", "README.md"), "utf8");
  const table = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `([a-z_]+\.[a-z0-9_]+)` +\| `(.*?)` +\|/gm)) table.set(m[1], m[2]);
  const expected = Object.entries(DEFAULT_CONFIG).flatMap(([group, keys]) =>
    Object.entries(keys as Record<string, unknown>).map(([key, value]) => [`${group}.${key}`, value] as const)
  );
  assertEquals([...table.keys()].sort(), expected.map(([k]) => k).sort());
  for (const [key, value] of expected) {
    const written = parseJsonc(table.get(key)!);
    assertEquals(written, value as JsonValue, `README default of ${key}`);
  }
});

Deno.test("config: every shipped configs/**/*.jsonc loads", () => {
  // run configs (sweep files, under sweeps/, are parsed by tests/experiment/sweep_test.ts)
  const files = readdirSync(CONFIGS, { recursive: true }).map(String)
    .filter((f) => f.endsWith(".jsonc") && !f.startsWith("sweeps"));
  assertTrue(files.includes("quickstart.jsonc") && files.includes("tiny.jsonc"), `found ${files}`);
  for (const f of files) loadConfig({ path: join(CONFIGS, f) });
});

Deno.test("config: tiny.jsonc extends quickstart with a tiny model", () => {
  const { config, sources } = loadConfig({ path: join(CONFIGS, "tiny.jsonc") });
  assertEquals(sources, [join(CONFIGS, "quickstart.jsonc"), join(CONFIGS, "tiny.jsonc")]);
  assertEquals(
    config,
    withDefaults({
      model: { n_layer: 1, n_head: 2, n_embd: 32, block_size: 32 },
      train: {
        max_steps: 20,
        batch_size: 4,
        warmup_steps: 2,
        eval_interval: 10,
        eval_steps: 2,
        checkpoint_interval: 10,
        log_interval: 5,
        sample_tokens: 20,
      },
      run: { name: "tiny" },
    }),
  );
});

Deno.test("config: a good fixture overrides keys in every group", () => {
  const { config } = loadConfig({ path: fx("good_overrides.jsonc") });
  assertEquals(
    config,
    withDefaults({
      model: { n_layer: 2, n_head: 2, n_embd: 64 },
      train: { optimizer: "sgd", lr_decay_steps: 500 },
      data: { paths: ["src/", "lib/a.ts"] },
      run: { name: "good-1.0_x" },
    }),
  );
});

// ---- extends ----

Deno.test("config: extends chains deep-merge (objects merge, arrays and scalars replace)", () => {
  const path = EXT(join("sub", "grandchild.jsonc"));
  const { config, sources } = loadConfig({ path });
  assertEquals(sources, [EXT("base.jsonc"), EXT("child.jsonc"), path]);
  assertEquals(
    config,
    withDefaults({
      model: { n_layer: 5, n_head: 2, n_embd: 64 },
      train: { max_steps: 7 },
      data: { paths: ["c"] },
      run: { name: "grandchild" },
    }),
  );
});

Deno.test("config: an extends cycle is an error", () => {
  configError(
    { path: EXT("cycle_a.jsonc") },
    "cycle_b.jsonc: extends: cycle",
    "cycle_a.jsonc -> ",
    "cycle_b.jsonc -> ",
  );
  configError({ path: EXT("self.jsonc") }, "self.jsonc: extends: cycle");
});

Deno.test("config: a missing base names both files", () => {
  configError(
    { path: EXT("missing_base.jsonc") },
    EXT("nope.jsonc"),
    "no such file",
    "extended by",
    "missing_base",
  );
});

Deno.test("config: extends must be a string", () => {
  configError(
    { path: EXT("bad_extends_value.jsonc") },
    "bad_extends_value.jsonc: extends: expected a path",
    "got 5",
  );
});

Deno.test("config: a bad value in a base config blames the base file", () => {
  configError(
    { path: EXT("child_of_bad.jsonc") },
    `${EXT("bad_base.jsonc")}: model.n_layer: expected a positive integer, got 0`,
  );
});

// ---- --set ----

Deno.test("config: parseSetOverride parses JSON values, else keeps raw text", () => {
  assertEquals(parseSetOverride("model.n_layer=6").value, 6);
  assertEquals(parseSetOverride("train.learning_rate=1e-4").value, 1e-4);
  assertEquals(parseSetOverride("model.bias=false").value, false);
  assertEquals(parseSetOverride("train.lr_decay_steps=null").value, null);
  assertEquals(parseSetOverride('data.paths=["a","b"]').value, ["a", "b"]);
  assertEquals(parseSetOverride('run.name="x"').value, "x");
  assertEquals(parseSetOverride("run.name=hello world").value, "hello world");
  assertEquals(parseSetOverride("train.sample_prompt=a=b").value, "a=b");
  assertEquals(parseSetOverride("train.sample_prompt=").value, "");
  const s = parseSetOverride("model.n_layer=6");
  assertEquals([s.path, s.raw, s.source], [["model", "n_layer"], "6", "model.n_layer=6"]);
});

Deno.test("config: --set number, bool, string, array, null override in order", () => {
  const { config, sources } = loadConfig({
    path: join(CONFIGS, "tiny.jsonc"),
    sets: [
      "model.n_layer=3",
      "model.bias=false",
      "train.optimizer=sgd",
      'data.paths=["x", "y"]',
      "train.lr_decay_steps=15",
      "train.lr_decay_steps=null",
      "model.n_layer=2",
    ],
  });
  assertEquals([config.model.n_layer, config.model.bias, config.train.optimizer], [2, false, "sgd"]);
  assertEquals([config.data.paths, config.train.lr_decay_steps], [["x", "y"], null]);
  assertEquals(sources.slice(2), [
    "--set model.n_layer=3",
    "--set model.bias=false",
    "--set train.optimizer=sgd",
    '--set data.paths=["x", "y"]',
    "--set train.lr_decay_steps=15",
    "--set train.lr_decay_steps=null",
    "--set model.n_layer=2",
  ]);
});

Deno.test("config: --set on a string key keeps number-like text as a string", () => {
  const { config } = loadConfig({ sets: ["run.name=001", "train.sample_prompt=true", "run.out_dir=1e3"] });
  assertEquals([config.run.name, config.train.sample_prompt, config.run.out_dir], ["001", "true", "1e3"]);
});

Deno.test("config: --set applies without a file", () => {
  const { config, sources } = loadConfig({ sets: ["train.max_steps=5"] });
  assertEquals(config, withDefaults({ train: { max_steps: 5 } }));
  assertEquals(sources, ["<default>", "--set train.max_steps=5"]);
});

Deno.test("config: a bad value from --set blames that --set", () => {
  configError(
    { path: join(CONFIGS, "tiny.jsonc"), sets: ["model.n_head=0"] },
    "--set model.n_head=0: model.n_head: expected a positive integer, got 0",
  );
  configError(
    { sets: ["model.n_head=3"] },
    `--set model.n_head=3: model.n_embd: expected a value divisible by model.n_head (3), got ${DEFAULT_CONFIG.model.n_embd}`,
  );
});

// ---- one test per bad-config class ----

Deno.test("config error: unknown key, with a suggestion", () => {
  const f = fx("unknown_key.jsonc");
  const e = configError({ path: f }, `${f}: train.max_stepz: unknown key (did you mean train.max_steps?)`);
  assertEquals(e.source, f);
  configError({ sets: ["modle.n_layer=2", "model.n_layer=1"] }, "modle: unknown key (did you mean model?)");
});

Deno.test("config error: wrong type", () => {
  const f = fx("wrong_type.jsonc");
  configError({ path: f }, `${f}: model.n_head: expected a positive integer, got "four"`);
  configError({ sets: ["model.bias=1"] }, "--set model.bias=1: model.bias: expected true or false, got 1");
  configError({ sets: ["model=3"] }, "--set model=3: model: expected an object, got 3");
  configError({ sets: ['data.paths=["a", 3]'] }, "data.paths[1]: expected a string, got 3");
});

Deno.test("config error: out of range", () => {
  const f = fx("out_of_range.jsonc");
  configError({ path: f }, `${f}: model.dropout: expected a number in [0, 1), got 1`);
  configError({ sets: ["data.val_fraction=0"] }, "data.val_fraction: expected a number in (0, 1), got 0");
  configError({ sets: ["train.max_steps=1.5"] }, "train.max_steps: expected a positive integer, got 1.5");
  configError(
    { sets: ["run.name=a/b"] },
    'run.name: expected a name of letters, digits, ".", "_" and "-", got "a/b"',
  );
});

Deno.test("config error: n_embd not divisible by n_head", () => {
  const f = fx("not_divisible.jsonc");
  configError({ path: f }, `${f}: model.n_embd: expected`, "divisible by model.n_head (4)", "got 130");
});

Deno.test("config: model.n_kv_head must divide model.n_head; null = n_head", () => {
  configError(
    { sets: ["model.n_kv_head=3"] },
    "--set model.n_kv_head=3: model.n_kv_head: expected a divisor of model.n_head (4), or null, got 3",
  );
  configError({ sets: ["model.n_kv_head=0"] }, "model.n_kv_head: expected a positive integer or null, got 0");
  assertEquals(loadConfig({ sets: ["model.n_kv_head=2"] }).config.model.n_kv_head, 2);
  assertEquals(DEFAULT_CONFIG.model.n_kv_head, null);
});

Deno.test("config error: missing file", () => {
  const f = fx("does_not_exist.jsonc");
  const e = configError({ path: f }, `${f}: no such file`);
  assertEquals(e.message, `${f}: no such file`);
});

Deno.test("config error: invalid JSONC names line and column", () => {
  // Written at test time: a fixture file with a syntax error would break `deno fmt --check`.
  const dir = Deno.makeTempDirSync();
  try {
    const f = join(dir, "invalid.jsonc");
    Deno.writeTextFileSync(f, '{\n  "model": {\n    "n_layer": },\n}\n');
    const e = configError({ path: f }, `${f}:3:16: invalid JSONC: unexpected token }`);
    assertEquals(e.source, `${f}:3:16`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  configError(
    { path: fx("not_object.jsonc") },
    "not_object.jsonc: expected an object at the top level, got [1,2,3]",
  );
});

Deno.test("config error: bad --set syntax", () => {
  for (const bad of ["model.n_layer", "=3", "model..n_layer=3", ".x=1", "model.n_layer.=3", "a b=1"]) {
    const e = assertThrows(() => parseSetOverride(bad), `--set ${bad}: expected key.path=value`);
    assertTrue(e instanceof ConfigError);
    configError({ sets: [bad] }, `--set ${bad}: expected key.path=value`);
  }
});

Deno.test("config error: unknown key in --set names that --set", () => {
  configError(
    { path: join(CONFIGS, "tiny.jsonc"), sets: ["model.n_layer=2", "train.max_stepz=5"] },
    "--set train.max_stepz=5: train.max_stepz: unknown key (did you mean train.max_steps?)",
  );
  configError({ sets: ["model.n_layer.x=1"] }, "--set model.n_layer.x=1: model.n_layer.x: unknown key");
});

Deno.test("config error: bad enum value lists the allowed values", () => {
  const f = fx("bad_enum.jsonc");
  configError({ path: f }, `${f}: train.optimizer: expected one of "adamw", "sgd", got "adam"`);
  configError(
    { sets: ["model.family=gpt2"] },
    'model.family: expected one of "gpt", "bert", "t5", got "gpt2"',
  );
});

// ---- hashing ----

Deno.test("config: canonicalJson sorts keys recursively with 2-space indent", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }),
    [
      "{",
      '  "a": {',
      '    "c": null,',
      '    "d": [',
      "      {",
      '        "y": 2,',
      '        "z": 1',
      "      }",
      "    ]",
      "  },",
      '  "b": 1',
      "}",
    ].join("\n"),
  );
  assertEquals(JSON.parse(canonicalJson(DEFAULT_CONFIG)), DEFAULT_CONFIG);
});

Deno.test("config: configHash ignores key order and sees every value", () => {
  const h = configHash(DEFAULT_CONFIG);
  assertTrue(/^[0-9a-f]{64}$/.test(h));
  const reordered = JSON.parse(
    canonicalJson(DEFAULT_CONFIG),
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
  ) as Config;
  assertNotEquals(JSON.stringify(reordered), JSON.stringify(DEFAULT_CONFIG));
  assertEquals(configHash(reordered), h);
  assertNotEquals(configHash(withDefaults({ train: { seed: 1 } })), h);
});
