/**
 * Warnings about a valid config that very likely does not do what its author meant: a schedule whose warm-up
 * fills the whole run or is cut off by the decay, an evaluation interval longer than the run. The runner prints
 * them once when a run starts (or resumes); they never stop a run.
 *
 * @module
 */
import type { Config } from "./config.ts";

const num = (x: number) => String(Number(x.toPrecision(3)));

/**
 * One line per likely mistake in `config` (empty when none), each naming the keys, their values and the fix,
 * without a `warning:` prefix.
 */
export function configWarnings(config: Config): string[] {
  const t = config.train;
  const out: string[] = [];
  const decay = t.lr_decay_steps ?? t.max_steps;
  // the schedule's warm-up, as the runner builds it: never past the decay
  const warmup = Math.min(t.warmup_steps, decay);
  if (t.warmup_steps > 0 && warmup >= t.max_steps) {
    out.push(
      `train.warmup_steps ${t.warmup_steps} >= train.max_steps ${t.max_steps}: the whole run is warm-up (the ` +
        `learning rate ends at ${num(t.learning_rate * t.max_steps / (warmup + 1))}, below ` +
        `train.learning_rate ${t.learning_rate}); lower train.warmup_steps (a tenth of the run, ` +
        `${Math.ceil(t.max_steps / 10)}, is usual) or raise train.max_steps`,
    );
  } else if (t.lr_decay_steps !== null && t.warmup_steps > t.lr_decay_steps) {
    out.push(
      `train.warmup_steps ${t.warmup_steps} > train.lr_decay_steps ${t.lr_decay_steps}: the warm-up is cut off ` +
        `at step ${t.lr_decay_steps}, where the learning rate drops straight to train.min_learning_rate ` +
        `${t.min_learning_rate}; make train.lr_decay_steps larger than train.warmup_steps`,
    );
  }
  if (t.eval_interval > t.max_steps) {
    out.push(
      `train.eval_interval ${t.eval_interval} > train.max_steps ${t.max_steps}: the run evaluates only at its ` +
        `last step (no validation curve); set train.eval_interval to ${t.max_steps} or less`,
    );
  }
  return out;
}
