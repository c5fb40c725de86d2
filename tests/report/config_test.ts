import { configDiff, flattenConfig } from "../../lib/report/config.ts";
import { assertEquals } from "../_helpers/assert.ts";

Deno.test("flattenConfig: dotted paths in document order; arrays, null and empty objects are leaves", () => {
  const c = {
    model: { n_layer: 4, bias: true },
    data: { paths: ["a", "b"], corpus: "code" },
    x: null,
    y: {},
  };
  assertEquals(flattenConfig(c), [
    { path: "model.n_layer", value: "4" },
    { path: "model.bias", value: "true" },
    { path: "data.paths", value: '["a","b"]' },
    { path: "data.corpus", value: "code" },
    { path: "x", value: "null" },
    { path: "y", value: "{}" },
  ]);
});

Deno.test("configDiff: only the paths that differ, with absent paths and type changes", () => {
  const a = { model: { n_layer: 4, n_head: 4 }, train: { lr: 0.003, steps: 100 }, run: { name: "a" } };
  const b = {
    model: { n_layer: 8, n_head: 4 },
    train: { lr: 0.003, steps: "100" },
    run: { name: "a" },
    extra: 1,
  };
  assertEquals(configDiff([a, b]), [
    { path: "model.n_layer", values: ["4", "8"] },
    { path: "train.steps", values: ["100", "100"] },
    { path: "extra", values: [undefined, "1"] },
  ]);
  assertEquals(configDiff([a, structuredClone(a), a]), []);
});
