import { availableBackends, getBackend, setBackend } from "../../lib/kernels/backend.ts";
import { GPT, type GPTConfig } from "../../lib/nn/models/gpt.ts";
import { AdamW } from "../../lib/optim/adamw.ts";
import { Rng } from "../../lib/random.ts";
import { cpuDevice, type Device, setDefaultDevice, withStep } from "../../lib/tensor/storage.ts";
import { type Float, Tensor } from "../../lib/tensor/tensor.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

/**
 * A device with storage of its own (plain arrays: no step arena, no kernel memory) that, like a GPU, hands
 * values back only asynchronously: it has no `readSync`, so anything on the path below that reads a value
 * synchronously (`item()`, `readSync()`) throws. It is strict where a GPU would be: `read`, `write` and
 * `release` accept only storage it allocated, and storage is poisoned (filled with NaN) when it is released
 * and when the step it was allocated in ends, as a GPU's pool would reuse it, so a value used after that
 * shows in the numbers.
 */
const ownBuffers = new Set<ArrayBufferLike>();
let stepStorage: Float[] | null = null;
function own(buf: Float, what: string): Float {
  if (!ownBuffers.has(buf.buffer)) throw new Error(`async-only: ${what} of storage it did not allocate`);
  return buf;
}
function plain(dtype: string, n: number): Float {
  const buf = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  ownBuffers.add(buf.buffer);
  return buf;
}
const asyncOnly: Device = {
  name: "async-only",
  allocate: (dtype, n) => {
    const buf = plain(dtype, n);
    stepStorage?.push(buf);
    return buf;
  },
  allocatePersistent: plain,
  release: (buf) => void own(buf, "release").fill(NaN),
  step: (fn) => {
    if (stepStorage !== null) return fn();
    stepStorage = [];
    try {
      return fn();
    } finally {
      for (const buf of stepStorage) buf.fill(NaN);
      stepStorage = null;
    }
  },
  write: (buf, values, offset) => own(buf, "write").set(values, offset),
  read: (buf) => Promise.resolve(own(buf, "read").slice()),
};

const cfg: GPTConfig = {
  vocabSize: 17,
  blockSize: 8,
  nLayer: 2,
  nHead: 2,
  nEmbd: 64,
  dropout: 0.1,
  bias: true,
  tieWeights: true,
};

// Two training steps (forward and backward in a step, then AdamW) on `device`; every value read back with
// `await read()`.
async function train(device: Device): Promise<{ losses: Float[]; params: Float[]; devices: Set<Device> }> {
  const prev = setDefaultDevice(device);
  try {
    const model = new GPT(cfg, new Rng(3));
    if (device === asyncOnly) {
      for (const { name, tensor } of model.namedParameters()) own(tensor.data, `parameter ${name} as made`);
    }
    const opt = new AdamW(model.namedParameters(), { lr: 1e-2, weightDecay: 0.1 });
    const rng = new Rng(4), B = 2, T = 8;
    const losses: Float[] = [];
    for (let s = 0; s < 2; s++) {
      const x = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * cfg.vocabSize));
      const y = Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * cfg.vocabSize));
      opt.zeroGrad();
      const loss = withStep(() => {
        const l = model.forward(x, B, T, { targets: y }).loss!;
        l.backward();
        return l.read(); // the values as they are now, before the step's storage is reused
      });
      losses.push(await loss);
      opt.step();
    }
    const tensors = model.namedParameters().map((p) => p.tensor);
    if (device === asyncOnly) {
      // parameters and their gradients (kept from step to step) live in the device's own storage
      for (const t of tensors) {
        own(t.data, `parameter ${t.name}`);
        own(t.grad!, `gradient of ${t.name}`);
      }
    }
    const params = await Promise.all(tensors.map((t) => t.read()));
    return { losses, params, devices: new Set(tensors.map((t) => t.device)) };
  } finally {
    setDefaultDevice(prev);
  }
}

Deno.test("an async-only device: GPT forward, backward and AdamW give the CPU's numbers exactly", async () => {
  const prev = getBackend();
  try {
    for (const backend of availableBackends().filter((b) => b !== "blas")) {
      setBackend(backend);
      const cpu = await train(cpuDevice);
      const other = await train(asyncOnly);
      assertEquals([...other.devices].map((d) => d.name), ["async-only"]);
      assertEquals(other.losses.map((l) => [...l]), cpu.losses.map((l) => [...l]), backend);
      assertEquals(other.params.length, cpu.params.length);
      other.params.forEach((p, i) => {
        assertTrue(p.every((v, j) => Object.is(v, cpu.params[i][j])), `${backend}: parameter ${i}`);
      });
    }
  } finally {
    setBackend(prev);
  }
});

Deno.test("readSync and item() name `await t.read()` on a device that reads asynchronously only", async () => {
  const prev = setDefaultDevice(asyncOnly);
  try {
    const t = Tensor.from([2.5], [1]);
    assertThrows(() => t.item(), 'tensor [1] is on device "async-only"');
    assertThrows(() => t.readSync(), "use `await t.read()`");
    assertEquals([...await t.read()], [2.5]);
    t.write([4]);
    assertEquals([...await t.read()], [4]);
  } finally {
    setDefaultDevice(prev);
  }
  const c = Tensor.from([1, 2], [2]);
  assertEquals(c.device, cpuDevice);
  assertTrue(c.readSync() === c.data, "the CPU reads its storage itself");
});
