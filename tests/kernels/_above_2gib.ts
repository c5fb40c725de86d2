/**
 * Run by memory_4gib_test.ts in its own process (the kernel memory never shrinks): grows the kernel memory past
 * 2 GiB, then runs kernels on arrays that live above that line and prints one JSON line comparing them with the
 * js kernels.
 *
 * @module
 */
import { setBackend } from "../../lib/kernels/backend.ts";
import { geluForward } from "../../lib/kernels/gelu.ts";
import { gemm, gemmJs } from "../../lib/kernels/matmul.ts";
import { residentAddress, residentFloat32 } from "../../lib/kernels/wasm/runtime.ts";

const backend = Deno.args[0] === "blas" ? "blas" : "wasm";
setBackend(backend);
// 2.25 GiB of filler keeps the operands below above the 2 GiB line
const filler = residentFloat32((9 * 2 ** 30) / 16);
const M = 200, N = 200, K = 64;
const A = residentFloat32(M * K)!, B = residentFloat32(K * N)!, C = residentFloat32(M * N)!;
for (let i = 0; i < A.length; i++) A[i] = Math.sin(i);
for (let i = 0; i < B.length; i++) B[i] = Math.cos(i);
const args = { transA: false, transB: true, M, N, K, A, aOff: 0, B, bOff: 0, C, cOff: 0, accumulate: false };
gemm(args);
const want = new Float32Array(M * N);
gemmJs({ ...args, A: A.slice(), B: B.slice(), C: want });
let gemmErr = 0;
for (let i = 0; i < want.length; i++) gemmErr = Math.max(gemmErr, Math.abs(C[i] - want[i]));
const g = residentFloat32(M * N)!, gJs = new Float32Array(M * N);
geluForward(C, g, M * N);
setBackend("js");
geluForward(C.slice(), gJs, M * N);
let geluErr = 0;
for (let i = 0; i < gJs.length; i++) geluErr = Math.max(geluErr, Math.abs(g[i] - gJs[i]));
console.log(JSON.stringify({
  filler: filler !== null,
  lowest: Math.min(...[A, B, C, g].map(residentAddress)),
  gemmErr,
  geluErr,
}));
