/**
 * The starting position of a training loop in tests.
 *
 * @module
 */
import { Rng } from "../../lib/random.ts";
import type { TrainerState } from "../../lib/train/trainer.ts";

/** Step 0 of a fresh run: a batcher seeded with `batcherSeed` that has drawn nothing, the model's dropout state. */
export function freshState(model: { dropoutRng: Rng }, batcherSeed = 6): TrainerState {
  return {
    step: 0,
    tokensSeen: 0,
    elapsed: 0,
    intervalLoss: 0,
    intervalSteps: 0,
    batcher: { batches: 0, rng: new Rng(batcherSeed).state() },
    dropout: model.dropoutRng.state(),
  };
}
