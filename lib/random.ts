/**
 * Explicit, seedable randomness. Nothing in `lib/` calls `Math.random`: every consumer is handed an {@link Rng}.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state), seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Its whole state is four uint32 words, so a run can save
 * it in a checkpoint and resume the exact stream.
 *
 * @module
 */

/** The serialisable state of an {@link Rng}: four uint32 words. */
export type RngState = [number, number, number, number];

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [x, z];
}

/** A seeded pseudo-random number generator (sfc32). */
export class Rng {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  /** Creates a generator from an integer seed (any JS number; it is reduced to 32 bits). */
  constructor(seed: number) {
    let s = (Math.floor(seed) >>> 0) ^ Math.floor(seed / 4294967296) >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, z] = splitmix32(s);
      s = nx;
      words.push(z);
    }
    [this.#a, this.#b, this.#c, this.#d] = words;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Rebuilds a generator from a saved {@link RngState}. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The current state (copy); restoring it with {@link Rng.setState} replays the same stream. */
  state(): RngState {
    return [this.#a, this.#b, this.#c, this.#d];
  }

  /** Restores a state captured with {@link Rng.state}. */
  setState(state: RngState): void {
    if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w))) {
      throw new Error(`invalid RNG state: expected four uint32 words, got ${JSON.stringify(state)}`);
    }
    [this.#a, this.#b, this.#c, this.#d] = state.map((w) => w >>> 0);
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) >>> 0) + d) >>> 0;
    this.#d = (d + 1) >>> 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) >>> 0;
    const cr = (c << 21) | (c >>> 11);
    this.#c = (cr + t) >>> 0;
    return t;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /**
   * A standard normal sample (Box–Muller). Each call draws two uniforms and keeps no spare, so the whole
   * generator state is {@link Rng.state} and a resumed stream is exact.
   */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A new generator whose seed is drawn from this one (independent stream for a sub-task). */
  fork(): Rng {
    return new Rng(this.nextUint32() * 4294967296 + this.nextUint32());
  }
}
