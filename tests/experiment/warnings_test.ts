import { loadConfig } from "../../lib/experiment/config.ts";
import { runExperiment } from "../../lib/experiment/runner.ts";
import { configWarnings } from "../../lib/experiment/warnings.ts";
import { assertEquals, assertTrue } from "../_helpers/assert.ts";
import { makeCodeCorpus } from "../_helpers/corpus.ts";

const tiny = (sets: string[] = []) => loadConfig({ path: "configs/tiny.jsonc", sets }).config;

Deno.test("configWarnings: the shipped configs and a plain short run warn of nothing", () => {
  assertEquals(configWarnings(tiny()), []);
  assertEquals(configWarnings(loadConfig({}).config), []);
  assertEquals(configWarnings(tiny(["train.max_steps=5", "train.eval_interval=5"])), []);
});

Deno.test("configWarnings: train.warmup_steps >= train.max_steps (the whole run is warm-up)", () => {
  // the exact case: tiny.jsonc runs 20 steps; --set train.warmup_steps=20
  const w = configWarnings(tiny(["train.warmup_steps=20"]));
  assertEquals(w.length, 1, w.join("\n"));
  for (const s of ["train.warmup_steps 20", "train.max_steps 20", "whole run is warm-up"]) {
    assertTrue(w[0].includes(s), `${w[0]} names ${s}`);
  }
  assertTrue(!w[0].includes("\n"), "one line");
  // longer than the run, and cut short only by a decay that is itself longer than the run
  assertEquals(configWarnings(tiny(["train.warmup_steps=50"])).length, 1);
  assertEquals(configWarnings(tiny(["train.warmup_steps=50", "train.lr_decay_steps=30"])).length, 1);
});

Deno.test("configWarnings: a warm-up longer than train.lr_decay_steps is cut off there", () => {
  const w = configWarnings(tiny(["train.warmup_steps=10", "train.lr_decay_steps=5"]));
  assertEquals(w.length, 1, w.join("\n"));
  assertTrue(w[0].includes("train.warmup_steps 10") && w[0].includes("train.lr_decay_steps 5"), w[0]);
});

Deno.test("configWarnings: an evaluation interval longer than the run evaluates only at the end", () => {
  const w = configWarnings(tiny(["train.eval_interval=100"]));
  assertEquals(w.length, 1, w.join("\n"));
  assertTrue(w[0].includes("train.eval_interval 100") && w[0].includes("train.max_steps 20"), w[0]);
});

Deno.test("the runner passes the config's warnings to its warn callback, once", async () => {
  const corpus = await makeCodeCorpus();
  const out = await Deno.makeTempDir({ prefix: "lcm-runs-" });
  try {
    const config = tiny([
      `data.paths=["${corpus}"]`,
      `run.out_dir=${out}`,
      "train.warmup_steps=20",
      "train.sample_tokens=0",
    ]);
    const warned: string[] = [];
    await runExperiment({ config, noReport: true, warn: (l) => warned.push(l) });
    assertEquals(warned.length, 1, warned.join("\n"));
    assertTrue(warned[0].startsWith("warning: train.warmup_steps 20"), warned[0]);
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(corpus, { recursive: true });
  }
});
