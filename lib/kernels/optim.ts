/**
 * Optimizer update loops for one parameter array: pure typed-array code, no tensors. Each function updates
 * `p` (and its state buffers) in place. Scalars are plain numbers so a WASM SIMD version can keep the same
 * signature. Arithmetic runs in JS doubles; results are rounded to the arrays' own element type on store. On
 * float32 storage and a backend other than `js`, {@link adamwUpdate} runs on the WASM SIMD kernel instead, in
 * f32 arithmetic (within ~1e-6 relative of the double-precision loop).
 *
 * @module
 */
import { useWasm } from "./backend.ts";
import type { Float } from "./types.ts";
import { adamw as adamwJob } from "./wasm/jobs.ts";
import { residentAddresses, WASM_CHUNK, wasmHeap, wasmKernels } from "./wasm/runtime.ts";

/**
 * One AdamW step (PyTorch's `torch.optim.AdamW`, single-tensor path) for parameter `p` with gradient `g` and
 * moments `m` (exp_avg) and `v` (exp_avg_sq), all of the same length. `step` is this parameter's 1-based
 * step number, used for bias correction:
 *
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 */
export function adamwUpdate(
  p: Float,
  g: Float,
  m: Float,
  v: Float,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const n = p.length;
  const decay = 1 - lr * weightDecay;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const invBc2Sqrt = 1 / Math.sqrt(1 - Math.pow(beta2, step));
  const c1 = 1 - beta1, c2 = 1 - beta2;
  if (useWasm(p, n)) {
    const k = wasmKernels()!;
    const r = residentAddresses(p, g, m, v);
    if (r !== null) {
      // parameters, gradients and moments all live in the kernel memory: in place, split over the pool
      adamwJob(n, r[0], r[1], r[2], r[3], [beta1, beta2, c1, c2, eps, decay, stepSize, invBc2Sqrt]);
      return;
    }
    const ch = Math.min(n, WASM_CHUNK);
    // heap layout (floats): [p | g | m | v], one chunk each
    const offP = 0, offG = ch, offM = 2 * ch, offV = 3 * ch;
    const heap = wasmHeap(4 * ch);
    const base = heap.byteOffset;
    for (let i0 = 0; i0 < n; i0 += ch) {
      const len = Math.min(ch, n - i0), i1 = i0 + len;
      heap.set(p.subarray(i0, i1), offP);
      heap.set(g.subarray(i0, i1), offG);
      heap.set(m.subarray(i0, i1), offM);
      heap.set(v.subarray(i0, i1), offV);
      k.adamw_update(
        len,
        base + offP * 4,
        base + offG * 4,
        base + offM * 4,
        base + offV * 4,
        beta1,
        beta2,
        c1,
        c2,
        eps,
        decay,
        stepSize,
        invBc2Sqrt,
      );
      p.set(heap.subarray(offP, offP + len), i0);
      m.set(heap.subarray(offM, offM + len), i0);
      v.set(heap.subarray(offV, offV + len), i0);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + c1 * gi;
    const vi = beta2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - stepSize * mi / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/**
 * One plain SGD step (no momentum) with PyTorch's L2 weight decay: p ← p − lr·(g + wd·p).
 */
export function sgdUpdate(p: Float, g: Float, lr: number, weightDecay: number): void {
  const n = p.length;
  for (let i = 0; i < n; i++) p[i] -= lr * (g[i] + weightDecay * p[i]);
}

/**
 * One SGD-with-momentum step (PyTorch's `torch.optim.SGD`, dampening 0) on parameter `p`, gradient `g` and
 * momentum buffer `buf` (zero before the first step, which makes the first step's buffer equal `d`):
 *
 *   d ← g + wd·p;  buf ← μ·buf + d;  p ← p − lr·(nesterov ? d + μ·buf : buf)
 */
export function sgdMomentumUpdate(
  p: Float,
  g: Float,
  buf: Float,
  lr: number,
  momentum: number,
  weightDecay: number,
  nesterov: boolean,
): void {
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const d = g[i] + weightDecay * p[i];
    const b = momentum * buf[i] + d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + momentum * b : b);
  }
}
