/**
 * Shared bits of the benches: the kernel shapes of a GPT with n_embd 256, block 128, batch 8 (so B·T = 1024
 * rows), their FLOP counts, seeded buffer fillers, and a reporter that turns `deno bench --json` output into
 * Markdown tables with GFLOP/s, one row per case and one per kernel with the backends side by side:
 *
 * ```sh
 * deno bench --allow-read --allow-env --allow-ffi --json bench/kernels_bench.ts | deno run bench/_shapes.ts
 * ```
 *
 * @module
 */
import type { Rng } from "../lib/random.ts";

/** Rows of activations in the benchmarked model: batch 8 × block 128. */
export const ROWS = 1024;
/** Model width. */
export const N_EMBD = 256;

/** One gemm as the model issues it: C[M,N] = op(A)[M,K] · op(B)[K,N]. */
export interface GemmCase {
  /** Bench name; also the key the reporter looks up. */
  name: string;
  /** NT: y = x·Wᵀ (Linear forward); NN: dx = dy·W; TN: dW = dyᵀ·x. */
  layout: "NN" | "NT" | "TN";
  /** Rows of C. */
  M: number;
  /** Inner dimension. */
  K: number;
  /** Columns of C. */
  N: number;
}

function gemmCase(layout: GemmCase["layout"], M: number, K: number, N: number, what?: string): GemmCase {
  const name = `gemm ${layout} M=${M} K=${K} N=${N}`;
  return { name: what === undefined ? name : `${name} (${what})`, layout, M, K, N };
}

/**
 * The three layouts of `linear` (forward NT, input-gradient NN, weight-gradient TN) for the two widest layers:
 * c_attn (256 → 768) and mlp.c_fc (256 → 1024), then a square NN product of 512³ (the reference size).
 */
export const GEMM_CASES: readonly GemmCase[] = [
  gemmCase("NT", ROWS, N_EMBD, 3 * N_EMBD, "c_attn fwd"),
  gemmCase("NT", ROWS, N_EMBD, 4 * N_EMBD, "c_fc fwd"),
  gemmCase("NN", ROWS, 3 * N_EMBD, N_EMBD, "c_attn dx"),
  gemmCase("NN", ROWS, 4 * N_EMBD, N_EMBD, "c_fc dx"),
  gemmCase("TN", 3 * N_EMBD, ROWS, N_EMBD, "c_attn dW"),
  gemmCase("TN", 4 * N_EMBD, ROWS, N_EMBD, "c_fc dW"),
  gemmCase("NN", 512, 512, 512),
];

/** Attention shape: batch 8 × 4 heads, 128 positions, head size 64. */
export const ATTN = { BH: 32, T: 128, D: 64 } as const;

/** Bench names of the attention cases. */
export const ATTN_FWD_NAME = `attention fwd BH=${ATTN.BH} T=${ATTN.T} D=${ATTN.D}`;
/** Bench name of the attention backward case. */
export const ATTN_BWD_NAME = `attention bwd BH=${ATTN.BH} T=${ATTN.T} D=${ATTN.D}`;

/** Heads of the attention shape (B = BH / heads): the packed layout of flash attention needs them. */
export const ATTN_HEADS = 4;
/** Bench name of the flash attention forward case (the attention shape, packed qkv (B, T, 3C)). */
export const FLASH_FWD_NAME = `flash fwd B=${ATTN.BH / ATTN_HEADS} H=${ATTN_HEADS} T=${ATTN.T} D=${ATTN.D}`;
/** Bench name of the flash attention backward case. */
export const FLASH_BWD_NAME = `flash bwd B=${ATTN.BH / ATTN_HEADS} H=${ATTN_HEADS} T=${ATTN.T} D=${ATTN.D}`;

/** FLOPs (multiply and add counted separately) of one gemm. */
export function gemmFlops(c: GemmCase): number {
  return 2 * c.M * c.N * c.K;
}

/**
 * FLOPs of the matrix products in attention (the full T×T products; the causal mask is applied afterwards, so
 * the kernel does all of them): 2 gemms forward, 4 backward.
 */
export function attentionFlops(pass: "fwd" | "bwd"): number {
  const one = 2 * ATTN.T * ATTN.T * ATTN.D * ATTN.BH;
  return pass === "fwd" ? 2 * one : 4 * one;
}

/** The name of a case: the kernel and shape, then the variant in brackets (`gemm NN M=512 K=512 N=512 [wasm]`). */
export function benchName(base: string, variant: string): string {
  return `${base} [${variant}]`;
}

/** Splits a case name made by {@link benchName} into kernel-and-shape and variant (`""` when it has none). */
export function splitBenchName(name: string): { base: string; variant: string } {
  const m = /^(.*) \[([^\]]+)\]$/.exec(name);
  return m === null ? { base: name, variant: "" } : { base: m[1], variant: m[2] };
}

/** FLOPs of each bench that has a meaningful count, by bench name without the variant. */
export function flopsByName(): Map<string, number> {
  const m = new Map<string, number>();
  for (const c of GEMM_CASES) m.set(c.name, gemmFlops(c));
  m.set(ATTN_FWD_NAME, attentionFlops("fwd"));
  m.set(ATTN_BWD_NAME, attentionFlops("bwd"));
  // flash: the same products, and the backward recomputes the scores (5 products instead of 4)
  m.set(FLASH_FWD_NAME, attentionFlops("fwd"));
  m.set(FLASH_BWD_NAME, (attentionFlops("bwd") * 5) / 4);
  return m;
}

/** A Float32Array of n normal(0, std²) samples from `rng`. */
export function randn(n: number, rng: Rng, std = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

/** Shape of the subset of `deno bench --json` output the reporter reads. */
interface BenchJson {
  runtime?: string;
  cpu?: string;
  benches: { name: string; group?: string; results: { ok?: { avg: number; min: number } }[] }[];
}

/** One case of the report: name split into kernel-and-shape and variant, times in ns (null when it failed). */
interface ReportRow {
  base: string;
  variant: string;
  avg: number | null;
  min: number | null;
}

/** GFLOP/s of `flops` done in `ns` nanoseconds (FLOP per ns = GFLOP/s), blank without a count. */
function gflops(flops: number | undefined, ns: number): string {
  return flops === undefined ? "" : (flops / ns).toFixed(2);
}

/**
 * Turns `deno bench --json` output into Markdown: first the backends side by side (one row per kernel and
 * shape, one column per variant, in the order the cases ran; a cell is the average ms per call and, for the
 * benches with a FLOP count, GFLOP/s at that average), then every case with avg and min time and GFLOP/s at the
 * average and at the best time.
 */
export function gflopsReport(json: string): string {
  const data = JSON.parse(json) as BenchJson;
  const flops = flopsByName();
  const rows: ReportRow[] = data.benches.map((b) => {
    const r = b.results[0]?.ok;
    return { ...splitBenchName(b.name), avg: r?.avg ?? null, min: r?.min ?? null };
  });
  const variants = [...new Set(rows.map((r) => r.variant))];
  const bases = [...new Set(rows.map((r) => r.base))];
  const byKey = new Map(rows.map((r) => [`${r.base}\u0000${r.variant}`, r]));
  const lines = [
    `${data.runtime ?? "?"} on ${data.cpu ?? "?"}`,
    "",
    "Average ms per call (GFLOP/s at the average):",
    "",
    `| bench | ${variants.map((v) => v === "" ? "time" : v).join(" | ")} |`,
    `| --- |${" ---: |".repeat(variants.length)}`,
  ];
  for (const base of bases) {
    const f = flops.get(base);
    const cells = variants.map((v) => {
      const r = byKey.get(`${base}\u0000${v}`);
      if (r === undefined) return "–";
      if (r.avg === null) return "failed";
      const ms = (r.avg / 1e6).toFixed(2);
      return f === undefined ? ms : `${ms} (${gflops(f, r.avg)})`;
    });
    lines.push(`| ${base} | ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    "Every case:",
    "",
    "| bench | backend | avg ms | min ms | GFLOP/s (avg) | GFLOP/s (best) |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    if (r.avg === null || r.min === null) {
      lines.push(`| ${r.base} | ${r.variant} | failed | | | |`);
      continue;
    }
    const f = flops.get(r.base);
    lines.push(
      `| ${r.base} | ${r.variant} | ${(r.avg / 1e6).toFixed(2)} | ${(r.min / 1e6).toFixed(2)} | ` +
        `${gflops(f, r.avg)} | ${gflops(f, r.min)} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const text = await new Response(Deno.stdin.readable).text();
  if (text.trim() === "") {
    console.error(
      "usage: deno bench --allow-read --allow-env --allow-ffi --json bench/kernels_bench.ts | deno run bench/_shapes.ts",
    );
    Deno.exit(2);
  }
  console.log(gflopsReport(text));
}
