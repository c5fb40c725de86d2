/**
 * Helpers shared by the end-to-end benches: the model-shape flags of the throughput benches, rounding for JSON
 * output, and the peak-RSS probe (the same three sources, in the same order, as `train_throughput.ts`).
 *
 * @module
 */
import process from "node:process";
import { type BackendName, setBackend } from "../lib/kernels/backend.ts";
import { defaultThreads, setThreads, whenThreadsReady } from "../lib/kernels/wasm/pool.ts";
import { type Command, type FlagValues, UsageError } from "../lib/experiment/cli/_command.ts";

/** The model-shape and kernel flags of `train_throughput.ts` and `generate_throughput.ts`. */
export const MODEL_FLAGS = {
  "n-layer": { type: "integer", min: 1, default: 4, description: "blocks" },
  "n-head": { type: "integer", min: 1, default: 4, description: "heads per block" },
  "n-embd": { type: "integer", min: 1, default: 256, description: "width, a multiple of --n-head" },
  "block-size": { type: "integer", min: 1, default: 128, description: "context length" },
  "vocab-size": { type: "integer", min: 1, default: 512, description: "vocabulary size" },
  seed: { type: "integer", min: 0, default: 0, description: "seed of the weights and the tokens" },
  tie: {
    type: "string",
    choices: ["true", "false"],
    default: "true",
    value: "BOOL",
    description: "tie lm_head to the token embedding",
  },
  backend: {
    type: "string",
    choices: ["auto", "js", "wasm", "blas"],
    default: "auto",
    value: "NAME",
    description: "kernel backend (blas needs --allow-ffi)",
  },
  threads: {
    type: "integer",
    min: 0,
    default: 1,
    description: "kernel threads of the wasm backend, 0 = every core",
  },
} as const satisfies Command["flags"];

/** What {@link MODEL_FLAGS} give a bench, in the names of its JSON records. */
export interface ModelArgs {
  /** Blocks. */
  n_layer: number;
  /** Heads per block. */
  n_head: number;
  /** Width. */
  n_embd: number;
  /** Context length. */
  block_size: number;
  /** Vocabulary size. */
  vocab_size: number;
  /** Seed of the weights and the tokens. */
  seed: number;
  /** lm_head tied to the token embedding. */
  tie: boolean;
  /** Kernel backend. */
  backend: BackendName | "auto";
  /** Kernel threads of the wasm backend (0 = every core). */
  threads: number;
}

/**
 * The model-shape and kernel flags' values as {@link ModelArgs}; throws a {@link UsageError} unless `--n-embd`
 * is a multiple of `--n-head` (named as typed).
 */
export function modelArgs(
  v: FlagValues<typeof MODEL_FLAGS>,
  typed: (flag: "n-embd" | "n-head") => string,
): ModelArgs {
  if (v["n-embd"] % v["n-head"] !== 0) {
    throw new UsageError(
      `${typed("n-embd")} (${v["n-embd"]}) must be a multiple of ${typed("n-head")} (${v["n-head"]})`,
    );
  }
  return {
    n_layer: v["n-layer"],
    n_head: v["n-head"],
    n_embd: v["n-embd"],
    block_size: v["block-size"],
    vocab_size: v["vocab-size"],
    seed: v.seed,
    tie: v.tie === "true",
    backend: v.backend,
    threads: v.threads,
  };
}

/**
 * Selects the backend and the thread count (0 = every core) as the experiment runner does: the pool gets the
 * threads on wasm and blas (whose products the pool splits), js runs on one. Returns the backend in use.
 */
export async function selectBackend(backend: BackendName | "auto", threads: number): Promise<BackendName> {
  const used = setBackend(backend);
  setThreads(used === "js" ? 1 : threads || defaultThreads());
  await whenThreadsReady();
  return used;
}

/** `v` rounded to `d` decimals. */
export function round(v: number, d: number): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/**
 * Peak resident set size, from the first source that answers:
 * 1. `VmHWM` in /proc/self/status (Deno 2.9 only lets a script read /proc/self with --allow-all);
 * 2. `ru_maxrss` of getrusage via `node:process` `resourceUsage().maxRSS` (the same peak, no permission needed;
 *    it is what torch_gpt.py reports);
 * 3. the largest `Deno.memoryUsage().rss` seen by {@link PeakRss.sample}.
 */
export class PeakRss {
  #sampled = 0;

  /** Records the current RSS (the last-resort source). */
  sample(): void {
    this.#sampled = Math.max(this.#sampled, Deno.memoryUsage().rss);
  }

  /** Peak in MiB and where it came from. */
  read(): { mb: number; source: string } {
    try {
      const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(Deno.readTextFileSync("/proc/self/status"));
      if (m) return { mb: Number(m[1]) / 1024, source: "VmHWM" };
    } catch {
      // not readable (no --allow-all) or not Linux: try the next source
    }
    try {
      const kb = process.resourceUsage().maxRSS;
      if (kb > 0) return { mb: kb / 1024, source: "getrusage ru_maxrss" };
    } catch {
      // not available: fall through
    }
    this.sample();
    return { mb: this.#sampled / (1024 * 1024), source: "Deno.memoryUsage().rss (max of samples)" };
  }
}
