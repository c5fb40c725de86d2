// Entry point of the WASM kernels (AssemblyScript). Each export is a kernel over linear memory.
export { gemm_rows, gemv_nt, pack_a_bytes, pack_b, pack_bt } from "./gemm";
export { attn_bwd, attn_fwd, attn_scratch_bytes } from "./attention";
export { flash_bwd, flash_fwd, flash_scratch_bytes } from "./flash";
export { gelu_bwd, gelu_fwd } from "./gelu";
export { layernorm_bwd, layernorm_bwd_dw, layernorm_fwd } from "./layernorm";
export { adamw_update } from "./optim";
export { cross_entropy_bwd, cross_entropy_fwd, cross_entropy_rows, softmax_bwd, softmax_fwd } from "./softmax";
export { add_rows, add_vec, sum_rows } from "./bias";
export { rmsnorm_bwd, rmsnorm_bwd_dw, rmsnorm_fwd } from "./rmsnorm";
export { rope_rotate } from "./rope";
export { swiglu_bwd, swiglu_fwd } from "./swiglu";
export { copy_bytes, zero_bytes } from "./memory";
