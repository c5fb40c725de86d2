/**
 * Optimizers and what surrounds a step: AdamW and SGD over named parameters (weight-decay groups, per-layer
 * learning-rate scales), learning-rate schedules (constant, linear warmup + cosine decay) and gradient
 * clipping by global norm.
 *
 * @example One AdamW step with clipping
 * ```ts
 * import { AdamW, clipGradNorm, cosineWithWarmup, uniqueParams } from "@lcm/core/optim";
 * import { createGPT } from "@lcm/core/nn";
 * const model = createGPT({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, tieWeights: true }, 1);
 * const params = uniqueParams(model.namedParameters());
 * const opt = new AdamW(params, { lr: 1e-3 });
 * const lr = cosineWithWarmup({ lr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 100 });
 * ```
 *
 * @module
 */
export {
  type DecayGroups,
  type DecayOptions,
  type NamedParam,
  type Optimizer,
  type OptimizerState,
  splitDecayGroups,
  uniqueParams,
} from "./param.ts";
export { AdamW, type AdamWOptions } from "./adamw.ts";
export { SGD, type SGDOptions } from "./sgd.ts";
export { constantLr, type CosineOptions, cosineWithWarmup, type LrSchedule } from "./schedule.ts";
export { clipGradNorm, firstNonFinite, gradNorm, type NonFinite } from "./clip.ts";
