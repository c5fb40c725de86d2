import { tinyConfig } from "../_helpers/models.ts";
import { assertClose, assertEquals, assertTrue } from "../_helpers/assert.ts";
import { Batcher } from "../../lib/data/batcher.ts";
import { GPT } from "../../lib/nn/models/gpt.ts";
import { ActivationProbe } from "../../lib/nn/probe.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { layerLrScales, uniqueParams } from "../../lib/optim/param.ts";
import { Rng } from "../../lib/random.ts";
import { buildDetailFigures, buildLayerFigures } from "../../lib/report/detail.ts";
import { newDocument } from "../../lib/report/dom.ts";
import { parseMetrics } from "../../lib/report/metrics.ts";
import { languageModelData } from "../../lib/train/language_model.ts";
import type { MetricEvent } from "../../lib/train/metrics.ts";
import { train } from "../../lib/train/trainer.ts";
import { freshState } from "../_helpers/train.ts";

Deno.test("ActivationProbe: dead GELU share and block output statistics", () => {
  const p = new ActivationProbe();
  // 2 positions × 4 units: unit 0 is ≤ −3 everywhere (dead), unit 1 only once, units 2 and 3 never
  p.geluInput([-5, -4, 0, 1, -3, 2, 0, 1], 4);
  p.blockOutput([1, 2, 3, 4]);
  p.blockOutput([2, 2]);
  assertEquals(p.blocks[0].dead_gelu, 0.25);
  assertClose(p.blocks[0].mean, 2.5, 1e-12);
  assertClose(p.blocks[0].std, Math.sqrt(1.25), 1e-12);
  assertEquals(p.blocks[1], { mean: 2, std: 0, dead_gelu: null }, "no MLP report: null");
});

Deno.test("detail events: one per detail step, a row per parameter tensor, a block entry per layer; the report draws them", async () => {
  const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 13);
  const model = new GPT(tinyConfig(), new Rng(5));
  const params = uniqueParams(model.namedParameters());
  const lines: string[] = [];
  await train({
    learner: { model, params, optimizer: new AdamW(params, { lr: 1e-2 }), schedule: () => 1e-2, gradClip: 1 },
    data: languageModelData(model, new Batcher(tokens, 8, 4, new Rng(6)), []),
    intervals: { maxSteps: 6, log: 1, detail: 3, eval: 1000, checkpoint: 1000 },
    hooks: {
      log: (e: MetricEvent) => {
        lines.push(JSON.stringify(e));
        return Promise.resolve();
      },
      checkpoint: () => Promise.resolve(),
    },
  }, freshState(model));
  const { detail } = parseMetrics(lines.join("\n"));
  assertEquals(detail.map((d) => d.step), [3, 6]);
  for (const d of detail) {
    assertEquals(d.params.map((p) => p.name), params.map((p) => p.name));
    assertEquals(d.blocks.length, tinyConfig().nLayer);
    for (const p of d.params) assertTrue(p.grad_norm > 0 && p.weight_norm > 0 && p.update_ratio > 0, p.name);
    for (const b of d.blocks) {
      assertTrue(b.std > 0 && b.dead_gelu !== null && b.dead_gelu >= 0 && b.dead_gelu <= 1);
    }
  }
  const figures = buildDetailFigures(newDocument(), [{ label: "tiny", detail, train: [] }]);
  assertEquals(figures.map((f) => f.id), ["grad_flow", "update_flow", "activations", "dead_gelu"]);
  const flow = figures[0].svg!;
  for (const p of params) assertTrue(flow.includes(p.name), `a row for ${p.name}`);
  assertEquals(buildDetailFigures(newDocument(), [{ label: "none", detail: [], train: [] }]), []);
});

Deno.test("layer-wise learning rates: train lines carry each group's rate and RSS; the report draws rates and update ratios", async () => {
  const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 5 + (i >> 2)) % 11);
  const cfg = tinyConfig();
  const model = new GPT(cfg, new Rng(8));
  const params = uniqueParams(model.namedParameters());
  const lrScale = layerLrScales(cfg.nLayer, 0.5);
  const lines: string[] = [];
  await train({
    learner: {
      model,
      params,
      optimizer: new AdamW(params, { lr: 1e-2, lrScale }),
      schedule: () => 1e-2,
      gradClip: 1,
    },
    data: languageModelData(model, new Batcher(tokens, 8, 4, new Rng(9)), []),
    intervals: { maxSteps: 4, log: 2, eval: 1000, checkpoint: 1000 },
    hooks: {
      memoryMb: () => 123.4,
      log: (e: MetricEvent) => {
        lines.push(JSON.stringify(e));
        return Promise.resolve();
      },
      checkpoint: () => Promise.resolve(),
    },
  }, freshState(model));
  const { train: points } = parseMetrics(lines.join("\n"));
  assertEquals(points.map((p) => p.step), [2, 4]);
  // head: the full rate; block i: 0.5^(nLayer − i); embeddings: 0.5^(nLayer + 1)
  const expected: Record<string, number> = { embed: 1e-2 * 0.5 ** (cfg.nLayer + 1), head: 1e-2 };
  for (let i = 0; i < cfg.nLayer; i++) expected[`h.${i}`] = 1e-2 * 0.5 ** (cfg.nLayer - i);
  for (const p of points) {
    assertEquals(Object.keys(p.layer_lr!).sort(), Object.keys(expected).sort());
    for (const [g, v] of Object.entries(expected)) assertClose(p.layer_lr![g], v, 1e-6 * v, g);
    assertEquals(Object.keys(p.update_ratio!).sort(), Object.keys(expected).sort());
    assertEquals(p.rss_mb, 123);
  }
  const figures = buildLayerFigures(newDocument(), [{ label: "tiny", detail: [], train: points }]);
  assertEquals(figures.map((f) => f.id), ["layer_lr", "layer_update"]);
  for (const f of figures) assertTrue(f.svg!.includes("h.0") && f.svg!.includes("embed"), f.id);
  assertEquals(buildLayerFigures(newDocument(), [{ label: "none", detail: [], train: [] }]), []);
});
