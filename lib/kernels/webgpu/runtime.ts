/**
 * The WebGPU runtime: one adapter and device ({@link Gpu.open}), arrays of numbers in GPU buffers
 * ({@link GpuArray}) drawn from a pool keyed by size, compute pipelines cached by their WGSL source, and
 * dispatches recorded into one command encoder that is submitted once ({@link Gpu.flush}) — per step, or when
 * a value is read back or written from the host.
 *
 * Conventions every kernel in lib/kernels/webgpu follows:
 *
 * - **Bindings**: group 0; the storage arrays in the order passed to {@link Gpu.dispatch} are bindings 0, 1, …;
 *   the parameters (when any) are a uniform struct at the next binding. Inputs are declared
 *   `var<storage, read>`, outputs `var<storage, read_write>`; every declared binding must be used (pipelines use
 *   the `auto` layout).
 * - **Parameters**: a uniform struct of 4-byte scalars (`u32`, `i32`, `f32`) in the order the {@link Params}
 *   builder wrote them (at most 64).
 * - **Sizes**: a buffer may be larger than its array (the pool rounds sizes up); kernels bound their loops by
 *   the counts in the parameters, never by `arrayLength`.
 * - **Grids**: at most 65,535 workgroups per dimension; {@link grid} spreads a long 1-D launch over x and y, and
 *   the shader rebuilds the linear workgroup index as `wid.y * nwg.x + wid.x` (`@builtin(num_workgroups)`).
 * - **Determinism**: every reduction runs in a fixed order, and no kernel uses float atomics (WGSL has none), so
 *   two runs give the same bits.
 *
 * Ordering: dispatches run in the order they are recorded; a released array may be reused by the next dispatch
 * (the GPU runs them in order). Host writes ({@link Gpu.write}) submit the recorded work first, so they never
 * overtake it; reads ({@link Gpu.read}) record their copy at the call, so the array may be reused right after.
 *
 * Deno 2.9.6 has WebGPU (older versions need `--unstable-webgpu`, which the tasks pass); without it, or without an
 * adapter, {@link Gpu.open} resolves to null and {@link gpuUnavailableReason} says why.
 *
 * @module
 */

/** What a {@link GpuArray} holds: 32-bit floats, signed or unsigned 32-bit integers. */
export type GpuKind = "f32" | "i32" | "u32";

/** The adapter a {@link Gpu} runs on, as the run's output and the benches name it. */
export interface GpuInfo {
  /** A one-line name: the description, else vendor / architecture / device. */
  readonly name: string;
  /** Whether it is a software rasterizer (lavapipe, SwiftShader): correct, but never a speed-up. */
  readonly software: boolean;
  /** Whether `shader-f16` is enabled on the device. */
  readonly f16: boolean;
  /** Whether `timestamp-query` is enabled on the device. */
  readonly timestamps: boolean;
  /** The largest storage binding, in bytes (requested at the adapter's maximum). */
  readonly maxBinding: number;
  /** The largest buffer, in bytes. */
  readonly maxBuffer: number;
  /** Storage buffers one shader stage may bind. */
  readonly maxStorageBuffers: number;
}

/** Options of {@link Gpu.open}. */
export interface GpuOptions {
  /** Refuse a software adapter (the playground's and `auto`'s rule: software is used only when asked for). */
  readonly hardwareOnly?: boolean;
  /** Ask for a high-performance or a low-power adapter (default: the platform's choice). */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * Treat bindings larger than this many bytes as too large (default: the adapter's limit): lets a test
   * exercise the kernels' splitting of arrays larger than one binding on small shapes.
   */
  readonly maxBinding?: number;
}

const WG_MAX = 65535;
const PARAM_SLOT = 256; // minUniformBufferOffsetAlignment's largest allowed value
const PARAM_SLOTS = 256; // dispatches per uniform buffer before the recorded work is submitted
const MAX_PARAMS = PARAM_SLOT / 4;
const POOL_ALIGN = 256;
// GPUBufferUsage / GPUMapMode values (the spec's numbers; the globals exist only where WebGPU does)
const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  QUERY_RESOLVE: 0x200,
} as const;
const MAP_READ = 0x1;

/**
 * Workgroup counts for `n` workgroups of a 1-D launch: `[n, 1]` when it fits one dimension, else spread over
 * x and y (some trailing workgroups then get an index ≥ n and must return early).
 */
export function grid(n: number): [number, number] {
  if (n <= WG_MAX) return [Math.max(1, n), 1];
  const y = Math.ceil(n / WG_MAX);
  return [Math.ceil(n / y), y];
}

/**
 * Numbers on the GPU: `length` elements of `kind` in a pooled buffer (which may be larger), or a view of
 * another array's elements ({@link GpuArray.view}: to bind a part of an array larger than one binding).
 */
export class GpuArray {
  #released = false;
  /** @internal Made by {@link Gpu} and {@link GpuArray.view}. */
  constructor(
    /** The GPU it lives on. */
    readonly gpu: Gpu,
    /** The buffer (usage STORAGE | COPY_SRC | COPY_DST). */
    readonly buffer: GPUBuffer,
    /** Number of elements. */
    readonly length: number,
    /** Element type. */
    readonly kind: GpuKind,
    /** Where the elements start in the buffer, in bytes (0 unless a view). */
    readonly byteOffset = 0,
    /** The array a view looks into (null for an array that owns its buffer). */
    readonly owner: GpuArray | null = null,
  ) {}

  /** Size of the elements, in bytes (the buffer may be larger). */
  get bytes(): number {
    return this.length * 4;
  }

  /** Whether {@link Gpu.release} gave it (or the array a view looks into) back: it must not be used then. */
  get released(): boolean {
    return this.#released || (this.owner?.released ?? false);
  }

  /** @internal Marks it given back ({@link Gpu.release}). */
  markReleased(): void {
    this.#released = true;
  }

  /**
   * A view of `length` elements from element `offset` on, to bind as an array of its own: `offset` must be a
   * multiple of 64 elements (WebGPU binds at 256-byte steps). A view is never released itself.
   */
  view(offset: number, length: number): GpuArray {
    if (offset % 64 !== 0 || offset < 0 || length < 0 || offset + length > this.length) {
      throw new Error(
        `GpuArray.view: ${length} elements at ${offset} of ${this.length} (the offset must be a multiple of 64)`,
      );
    }
    return new GpuArray(
      this.gpu,
      this.buffer,
      length,
      this.kind,
      this.byteOffset + offset * 4,
      this.owner ?? this,
    );
  }
}

/** The parameters of one dispatch: 4-byte scalars, in the order the kernel's uniform struct declares them. */
export class Params {
  /** @internal */
  readonly view: DataView = new DataView(new ArrayBuffer(PARAM_SLOT));
  /** @internal Bytes written so far. */
  used = 0;

  #next(): number {
    if (this.used >= PARAM_SLOT) throw new Error(`Params: at most ${MAX_PARAMS} scalars per dispatch`);
    const at = this.used;
    this.used += 4;
    return at;
  }

  /** Appends unsigned 32-bit integers. */
  u32(...values: number[]): this {
    for (const v of values) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`Params.u32: ${v} is not a u32`);
      this.view.setUint32(this.#next(), v, true);
    }
    return this;
  }

  /** Appends signed 32-bit integers. */
  i32(...values: number[]): this {
    for (const v of values) {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
        throw new Error(`Params.i32: ${v} is not an i32`);
      }
      this.view.setInt32(this.#next(), v, true);
    }
    return this;
  }

  /** Appends 32-bit floats (rounded from the numbers given). */
  f32(...values: number[]): this {
    for (const v of values) this.view.setFloat32(this.#next(), v, true);
    return this;
  }
}

/** Why no GPU could be opened here, in one line (null when `navigator.gpu` exists; the adapter may still be absent). */
export function gpuUnavailableReason(): string | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu !== undefined) return null;
  const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
  return deno
    ? "navigator.gpu is undefined: this Deno has no WebGPU (older versions need --unstable-webgpu; 2.9.6 has it)"
    : "navigator.gpu is undefined: this runtime has no WebGPU";
}

/** One WebGPU device with its buffer pool, pipeline cache and the command encoder being recorded. */
export class Gpu {
  /** The adapter, in a line and a few facts. */
  readonly info: GpuInfo;
  /** Validation and out-of-memory errors the device reported; {@link Gpu.finish} throws the first. */
  readonly #errors: string[] = [];
  readonly #pool = new Map<number, GPUBuffer[]>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #staging: GPUBuffer[] = [];
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #params: ArrayBuffer = new ArrayBuffer(PARAM_SLOT * PARAM_SLOTS);
  #paramBuffer: GPUBuffer;
  #paramSlot = 0;
  #lost: string | null = null;
  #frame: GpuArray[] | null = null;
  readonly #uploads: GPUBuffer[] = [];
  /** While {@link Gpu.timed} records: whether a compute pass has written the starting timestamp yet. */
  #timing: { begun: boolean } | null = null;
  #queries: { set: GPUQuerySet; resolve: GPUBuffer; read: GPUBuffer } | null = null;
  /** Dispatches recorded since the GPU was opened (for the benches' dispatches-per-step figure). */
  dispatches = 0;
  /** Submissions since the GPU was opened. */
  submits = 0;

  private constructor(readonly device: GPUDevice, info: GpuInfo) {
    this.info = info;
    this.#paramBuffer = device.createBuffer({
      size: PARAM_SLOT * PARAM_SLOTS,
      usage: USAGE.UNIFORM | USAGE.COPY_DST,
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
    device.lost.then((l) => {
      this.#lost = `device lost (${l.reason}): ${l.message}`;
    });
  }

  /**
   * Opens the default adapter and a device with its largest storage-binding and buffer limits and the
   * `shader-f16` / `timestamp-query` features it has; null when there is no WebGPU or no (acceptable) adapter
   * ({@link gpuUnavailableReason} then says why).
   */
  static async open(options: GpuOptions = {}): Promise<Gpu | null> {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (gpu === undefined) return null;
    const adapter = await gpu.requestAdapter(
      options.powerPreference === undefined ? undefined : { powerPreference: options.powerPreference },
    );
    if (adapter === null) return null;
    const a = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
    const text = `${a.description} ${a.device} ${a.vendor} ${a.architecture}`.toLowerCase();
    const software = a.isFallbackAdapter === true || legacy === true ||
      /llvmpipe|lavapipe|swiftshader|software|warp/.test(text);
    if (software && options.hardwareOnly === true) return null;
    const wanted: GPUFeatureName[] = ["shader-f16", "timestamp-query"];
    const features = wanted.filter((f) => adapter.features.has(f));
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      },
    });
    const name = a.description !== ""
      ? a.description
      : [a.vendor, a.architecture, a.device].filter((s) => s !== "").join(" / ") || "unknown adapter";
    return new Gpu(device, {
      name,
      software,
      f16: features.includes("shader-f16"),
      timestamps: features.includes("timestamp-query"),
      maxBinding: Math.min(device.limits.maxStorageBufferBindingSize, options.maxBinding ?? Infinity),
      maxBuffer: device.limits.maxBufferSize,
      maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // Storage

  /**
   * Runs `fn` as one step: the arrays made inside it (not `persistent` ones) go back to the pool when the
   * outermost step returns (dispatches recorded inside still run: the GPU runs them in order). Read what is
   * needed inside: {@link Gpu.read} records its copy at the call.
   */
  step<T>(fn: () => T): T {
    const outer = this.#frame === null;
    if (outer) this.#frame = [];
    try {
      return fn();
    } finally {
      if (outer) {
        for (const a of this.#frame!) this.release(a);
        this.#frame = null;
      }
    }
  }

  /**
   * Where the current step stands: a mark for {@link Gpu.releaseSince} (null outside {@link Gpu.step}).
   */
  mark(): number | null {
    return this.#frame === null ? null : this.#frame.length;
  }

  /**
   * Gives back the step arrays made since `mark` (from {@link Gpu.mark}), except those in `keep`, which stay
   * the step's (activation recompute keeps one block's output and drops its intermediates). Work already
   * recorded on them still runs first. Nothing happens for a null mark.
   */
  releaseSince(mark: number | null, keep: readonly GpuArray[] = []): void {
    if (mark === null || this.#frame === null) return;
    const made = this.#frame.splice(mark);
    for (const a of made) {
      if (keep.includes(a)) this.#frame.push(a);
      else this.release(a);
    }
  }

  /**
   * An array of `length` elements whose contents are undefined (the kernel that receives it must write every
   * element): from the pool when a buffer of that size was released, else new. Inside {@link Gpu.step} it is
   * given back when the step ends, unless `persistent` (parameters, gradients, optimizer state).
   */
  array(length: number, kind: GpuKind = "f32", persistent = false): GpuArray {
    this.#check();
    if (!Number.isInteger(length) || length < 0) throw new Error(`Gpu.array: bad length ${length}`);
    const size = Math.max(POOL_ALIGN, Math.ceil((length * 4) / POOL_ALIGN) * POOL_ALIGN);
    if (size > this.info.maxBuffer) {
      throw new Error(
        `Gpu.array: ${length} elements need ${size} bytes; the adapter's largest buffer is ${this.info.maxBuffer}`,
      );
    }
    const buffer = this.#pool.get(size)?.pop() ??
      this.device.createBuffer({
        size,
        usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      });
    const a = new GpuArray(this, buffer, length, kind);
    if (!persistent) this.#frame?.push(a);
    return a;
  }

  /** A zeroed array (the zeroing is recorded like a dispatch); `persistent` as for {@link Gpu.array}. */
  zeros(length: number, kind: GpuKind = "f32", persistent = false): GpuArray {
    const a = this.array(length, kind, persistent);
    this.fill(a, 0);
    return a;
  }

  /** Records setting every element of `a` to zero (`value` 0) — other values need a kernel. */
  fill(a: GpuArray, value: 0): void {
    if (value !== 0) throw new Error("Gpu.fill: only 0 (use a kernel for other values)");
    const end = a.owner === null ? a.buffer.size : Math.ceil(a.bytes / 4) * 4;
    if (end > 0) this.#endPass().clearBuffer(a.buffer, a.byteOffset, end);
  }

  /**
   * A new array holding `values` (float32 for a Float32Array/Float64Array/number[], else the integer kind);
   * `persistent` as for {@link Gpu.array}.
   */
  upload(
    values: Float32Array | Float64Array | Int32Array | Uint32Array | readonly number[],
    persistent = false,
  ): GpuArray {
    const kind: GpuKind = values instanceof Int32Array
      ? "i32"
      : values instanceof Uint32Array
      ? "u32"
      : "f32";
    const a = this.array(values.length, kind, persistent);
    this.write(a, values);
    return a;
  }

  /**
   * Copies `values` into `a` from element `offset` on, after every dispatch recorded before it, as the program
   * order says: while work is being recorded, the copy is recorded with it (through a staging buffer).
   */
  write(
    a: GpuArray,
    values: Float32Array | Float64Array | Int32Array | Uint32Array | readonly number[],
    offset = 0,
  ): void {
    this.#check();
    if (offset < 0 || offset + values.length > a.length) {
      throw new Error(`Gpu.write: ${values.length} values at ${offset} do not fit ${a.length} elements`);
    }
    let host = a.kind === "f32"
      ? (values instanceof Float32Array ? values : Float32Array.from(values))
      : a.kind === "i32"
      ? (values instanceof Int32Array ? values : Int32Array.from(values))
      : (values instanceof Uint32Array ? values : Uint32Array.from(values));
    // writeBuffer takes no view of shared memory (the WASM kernels' memory is a SharedArrayBuffer): copy it out
    if (!(host.buffer instanceof ArrayBuffer)) host = host.slice();
    if (this.#encoder !== null && host.byteLength > 0) {
      // work is being recorded: the values go through a staging buffer whose copy is recorded in order, so the
      // step stays one submission
      const staging = this.device.createBuffer({
        size: host.byteLength,
        usage: USAGE.COPY_SRC,
        mappedAtCreation: true,
      });
      new Uint8Array(staging.getMappedRange()).set(
        new Uint8Array(host.buffer, host.byteOffset, host.byteLength),
      );
      staging.unmap();
      this.#endPass().copyBufferToBuffer(staging, 0, a.buffer, a.byteOffset + offset * 4, host.byteLength);
      this.#uploads.push(staging);
      return;
    }
    this.device.queue.writeBuffer(
      a.buffer,
      a.byteOffset + offset * 4,
      host.buffer,
      host.byteOffset,
      host.byteLength,
    );
  }

  /** Records a copy of `n` elements from `src` (from `srcOffset`) into `dst` (at `dstOffset`). */
  copy(src: GpuArray, dst: GpuArray, n = src.length, srcOffset = 0, dstOffset = 0): void {
    if (srcOffset + n > src.length || dstOffset + n > dst.length) {
      throw new Error(`Gpu.copy: ${n} elements from ${srcOffset} / to ${dstOffset} exceed the arrays`);
    }
    if (n > 0) {
      this.#endPass().copyBufferToBuffer(
        src.buffer,
        src.byteOffset + srcOffset * 4,
        dst.buffer,
        dst.byteOffset + dstOffset * 4,
        n * 4,
      );
    }
  }

  /**
   * A host copy of float array `a`'s elements (from `offset`, `n` of them) as they are after every dispatch
   * recorded so far: the copy is recorded at the call (so `a` may be released or overwritten right after), then
   * the work is submitted and the promise resolves when the copy has arrived.
   */
  async read(a: GpuArray, offset = 0, n: number = a.length - offset): Promise<Float32Array> {
    if (a.kind !== "f32") throw new Error(`Gpu.read: the array holds ${a.kind}; use readInts`);
    return new Float32Array(await this.#readBytes(a, offset, n));
  }

  /** As {@link Gpu.read}, for an `i32` or `u32` array (the bits as signed 32-bit integers). */
  async readInts(a: GpuArray, offset = 0, n: number = a.length - offset): Promise<Int32Array> {
    return new Int32Array(await this.#readBytes(a, offset, n));
  }

  async #readBytes(a: GpuArray, offset: number, n: number): Promise<ArrayBuffer> {
    this.#check();
    if (offset < 0 || n < 0 || offset + n > a.length) {
      throw new Error(`Gpu.read: ${n} elements from ${offset} exceed ${a.length}`);
    }
    const size = Math.max(POOL_ALIGN, Math.ceil((n * 4) / POOL_ALIGN) * POOL_ALIGN);
    const at = this.#staging.findIndex((b) => b.size === size);
    const staging = at >= 0 ? this.#staging.splice(at, 1)[0] : this.device.createBuffer({
      size,
      usage: USAGE.MAP_READ | USAGE.COPY_DST,
    });
    if (n > 0) this.#endPass().copyBufferToBuffer(a.buffer, a.byteOffset + offset * 4, staging, 0, n * 4);
    this.flush();
    await staging.mapAsync(MAP_READ, 0, size);
    const raw = staging.getMappedRange(0, size).slice(0, n * 4);
    staging.unmap();
    this.#staging.push(staging);
    this.#check();
    return raw;
  }

  /** Gives `a`'s buffer back to the pool; later dispatches may reuse it (they run after the ones recorded). */
  release(a: GpuArray): void {
    if (a.owner !== null) throw new Error("Gpu.release: a view is released with the array it looks into");
    if (a.released) return;
    a.markReleased();
    const list = this.#pool.get(a.buffer.size);
    if (list === undefined) this.#pool.set(a.buffer.size, [a.buffer]);
    else list.push(a.buffer);
  }

  /** Destroys the pooled buffers nothing uses (after a phase with sizes that will not come back). */
  trim(): void {
    this.flush();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Kernels

  /** The compute pipeline of `wgsl`'s entry point `entry`, compiled once and cached by its source. */
  pipeline(wgsl: string, entry = "main"): GPUComputePipeline {
    const key = `${entry}\u0000${wgsl}`;
    let p = this.#pipelines.get(key);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: wgsl });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: entry } });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /** A builder for one dispatch's parameters. */
  params(): Params {
    return new Params();
  }

  /**
   * Records one dispatch of `pipeline` over `groups` workgroups (x, y, z), binding `arrays` at 0, 1, … and
   * `params` (when given) after them.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    arrays: readonly GpuArray[],
    groups: readonly [number, number?, number?],
    params?: Params,
  ): void {
    this.#check();
    for (const a of arrays) {
      if (a.released) throw new Error("Gpu.dispatch: an array was used after Gpu.release");
      if (a.gpu !== this) throw new Error("Gpu.dispatch: an array belongs to another GPU");
      if (a.bytes > this.info.maxBinding) {
        throw new Error(
          `Gpu.dispatch: an array of ${a.bytes} bytes exceeds the adapter's largest binding (${this.info.maxBinding}); ` +
            "bind views of it (GpuArray.view)",
        );
      }
    }
    const [x, y = 1, z = 1] = groups;
    if (x > WG_MAX || y > WG_MAX || z > WG_MAX) {
      throw new Error(`Gpu.dispatch: ${x}×${y}×${z} workgroups exceed ${WG_MAX} per dimension (use grid())`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const entries: GPUBindGroupEntry[] = arrays.map((a, i) => ({
      binding: i,
      resource: { buffer: a.buffer, offset: a.byteOffset, size: Math.max(4, a.bytes) },
    }));
    if (params !== undefined) {
      if (this.#paramSlot === PARAM_SLOTS) this.flush();
      const at = this.#paramSlot++ * PARAM_SLOT;
      new Uint8Array(this.#params, at, PARAM_SLOT).set(new Uint8Array(params.view.buffer));
      entries.push({
        binding: arrays.length,
        resource: {
          buffer: this.#paramBuffer,
          offset: at,
          size: Math.max(16, Math.ceil(params.used / 16) * 16),
        },
      });
    }
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.#beginPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  /**
   * Runs `fn` and measures on the GPU the work it records: the nanoseconds from the start of the first compute
   * pass it records to the end of the last (copies and clears in between included, work recorded before it
   * excluded), once that work is done. Resolves to null where the device has no `timestamp-query` (then time
   * the call itself: it resolves after the work is done); 0 when `fn` records no dispatch. Not nestable.
   */
  timed(fn: () => void): Promise<number | null> {
    if (this.#timing !== null) throw new Error("Gpu.timed: already timing (timed calls do not nest)");
    if (!this.info.timestamps) {
      fn();
      return this.finish().then(() => null);
    }
    this.#endPass(); // the timed work starts a pass of its own
    const timing = { begun: false };
    this.#timing = timing;
    try {
      fn();
    } finally {
      this.#endPass();
      this.#timing = null;
    }
    return timing.begun ? this.#elapsed() : this.finish().then(() => 0);
  }

  /** Resolves the two timestamps {@link Gpu.timed} wrote, submits, and reads them back. */
  async #elapsed(): Promise<number> {
    const q = this.#queryBuffers();
    const encoder = this.#endPass();
    encoder.resolveQuerySet(q.set, 0, 2, q.resolve, 0);
    encoder.copyBufferToBuffer(q.resolve, 0, q.read, 0, 16);
    this.flush();
    await q.read.mapAsync(MAP_READ, 0, 16);
    const [begin, end] = new BigUint64Array(q.read.getMappedRange(0, 16).slice(0));
    q.read.unmap();
    this.#check();
    return Number(end - begin);
  }

  #queryBuffers(): { set: GPUQuerySet; resolve: GPUBuffer; read: GPUBuffer } {
    this.#queries ??= {
      set: this.device.createQuerySet({ type: "timestamp", count: 2 }),
      resolve: this.device.createBuffer({ size: 16, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC }),
      read: this.device.createBuffer({ size: 16, usage: USAGE.MAP_READ | USAGE.COPY_DST }),
    };
    return this.#queries;
  }

  /** Submits the work recorded so far (nothing when there is none). */
  flush(): void {
    if (this.#encoder === null) return;
    this.#endPass();
    if (this.#paramSlot > 0) {
      this.device.queue.writeBuffer(this.#paramBuffer, 0, this.#params, 0, this.#paramSlot * PARAM_SLOT);
      // the next batch writes a fresh host copy; the queue orders that write after this submission
      this.#params = new ArrayBuffer(PARAM_SLOT * PARAM_SLOTS);
      this.#paramSlot = 0;
    }
    const encoder = this.#encoder;
    this.#encoder = null;
    this.device.queue.submit([encoder.finish()]);
    this.submits++;
    for (const b of this.#uploads) b.destroy(); // freed once the submitted copies are done
    this.#uploads.length = 0;
  }

  /** Submits the recorded work and waits until the GPU has done it all; throws the first error the device reported. */
  async finish(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.#check();
  }

  /** Releases every pooled and cached resource and the device (the GPU may not be used after). */
  destroy(): void {
    this.#encoder = null;
    this.#pass = null;
    this.trim();
    for (const b of this.#staging) b.destroy();
    this.#staging.length = 0;
    this.#paramBuffer.destroy();
    if (this.#queries !== null) {
      this.#queries.set.destroy();
      this.#queries.resolve.destroy();
      this.#queries.read.destroy();
    }
    this.device.destroy();
    this.#lost ??= "destroyed";
  }

  #check(): void {
    if (this.#errors.length > 0) {
      const first = this.#errors[0];
      const more = this.#errors.length > 1 ? ` (and ${this.#errors.length - 1} more)` : "";
      this.#errors.length = 0;
      throw new Error(`WebGPU error${more}: ${first}`);
    }
    if (this.#lost !== null) throw new Error(`WebGPU: ${this.#lost}`);
  }

  #beginPass(): GPUComputePassEncoder {
    this.#encoder ??= this.device.createCommandEncoder();
    if (this.#pass === null) {
      const t = this.#timing;
      // inside timed(): the first pass writes the starting timestamp; every pass writes the end, the last wins
      const timestampWrites: GPUComputePassTimestampWrites | undefined = t === null ? undefined : {
        querySet: this.#queryBuffers().set,
        ...(t.begun ? {} : { beginningOfPassWriteIndex: 0 }),
        endOfPassWriteIndex: 1,
      };
      if (t !== null) t.begun = true;
      this.#pass = this.#encoder.beginComputePass(
        timestampWrites === undefined ? undefined : { timestampWrites },
      );
    }
    return this.#pass;
  }

  #endPass(): GPUCommandEncoder {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#encoder;
  }
}
