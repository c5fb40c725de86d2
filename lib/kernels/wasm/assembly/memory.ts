// Bulk memory for the runtime (AssemblyScript; compiled by `deno task build:wasm`): zeroing and copying kernel
// memory with memory.fill / memory.copy, which run at memset speed (a typed array's fill or set on the shared
// memory goes element by element: several times slower).

// Zeroes `bytes` bytes at p.
export function zero_bytes(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

// Copies `bytes` bytes from src to dst (the ranges may overlap).
export function copy_bytes(dst: usize, src: usize, bytes: usize): void {
  memory.copy(dst, src, bytes);
}
