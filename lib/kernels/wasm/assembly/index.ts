// Entry point of the WASM kernels (AssemblyScript). Each export is a kernel over linear memory.
export { gemm_rows, pack_b, transpose } from "./gemm";
export { gelu_bwd, gelu_fwd } from "./gelu";
