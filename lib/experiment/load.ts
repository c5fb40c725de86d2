/**
 * Loading a trained model back from a run directory (config.json + tokenizer.json + newest checkpoint).
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { loadTokenizer, type Tokenizer } from "../data/tokenizer.ts";
import { Rng } from "../random.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { type Config, loadConfig } from "./config.ts";
import { buildModel, type FamilyModel } from "./families.ts";
import { checkTokenizerAgrees, loadWeightsAgreeing } from "./agree.ts";

/** A model restored from a run. */
export interface LoadedRun {
  /** The run's resolved config. */
  config: Config;
  /** Its tokenizer. */
  tokenizer: Tokenizer;
  /** The model with the newest checkpoint's weights, in eval mode. */
  model: FamilyModel;
  /** Step of that checkpoint. */
  step: number;
}

/**
 * Restores the newest checkpoint of `runDir`; errors name the run dir and the missing or broken file, or the two
 * files that disagree (tokenizer and checkpoint, config and checkpoint).
 */
export async function loadRun(runDir: string): Promise<LoadedRun> {
  const cfgPath = join(runDir, "config.json");
  try {
    await stat(cfgPath);
  } catch {
    throw new Error(`${runDir}: not a run directory (no config.json)`);
  }
  const { config } = loadConfig({ path: cfgPath });
  const tokenizerPath = join(runDir, "tokenizer.json");
  const tokenizer = await loadTokenizer(tokenizerPath);
  const ck = await loadCheckpoint(runDir);
  const weightsPath = join(ck.dir, "model.safetensors");
  checkTokenizerAgrees(config, tokenizer.vocabSize, tokenizerPath, ck.weights, weightsPath);
  const model = buildModel(config, tokenizer.vocabSize, new Rng(0));
  loadWeightsAgreeing(model, ck.weights, weightsPath, cfgPath);
  model.eval();
  return { config, tokenizer, model, step: ck.state.step };
}
