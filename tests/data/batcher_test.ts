import { Batcher, evalWindows } from "../../lib/data/batcher.ts";
import { Rng } from "../../lib/random.ts";
import { assertEquals, assertThrows, assertTrue } from "../_helpers/assert.ts";

/** Tokens 0, 1, 2, … so a window's values reveal where it starts. */
const ramp = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

Deno.test("Batcher: shapes, y is x shifted by one, starts within range", () => {
  const tokens = ramp(20);
  const blockSize = 4, batchSize = 3;
  const b = new Batcher(tokens, blockSize, batchSize, new Rng(1));
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const { x, y } = b.next();
    assertEquals([x.length, y.length], [12, 12]);
    for (let r = 0; r < batchSize; r++) {
      const start = x[r * blockSize];
      assertTrue(start >= 0 && start <= 20 - blockSize - 1, `start ${start}`);
      seen.add(start);
      for (let t = 0; t < blockSize; t++) {
        assertEquals(x[r * blockSize + t], start + t);
        assertEquals(y[r * blockSize + t], start + t + 1);
      }
    }
  }
  assertEquals(seen.size, 16); // every start in [0, 15] is drawn
  assertEquals(b.batches, 200);
});

Deno.test("Batcher: same seed gives the same batches", () => {
  const tokens = ramp(100);
  const a = new Batcher(tokens, 8, 4, new Rng(42));
  const b = new Batcher(tokens, 8, 4, new Rng(42));
  for (let k = 0; k < 5; k++) assertEquals(a.next(), b.next());
  const c = new Batcher(tokens, 8, 4, new Rng(43));
  assertTrue(JSON.stringify(a.next()) !== JSON.stringify(c.next()));
});

Deno.test("Batcher: state after k batches resumes the exact stream", () => {
  const tokens = ramp(1000);
  const original = new Batcher(tokens, 16, 4, new Rng(7));
  for (let k = 0; k < 5; k++) original.next();
  const saved = JSON.parse(JSON.stringify(original.state())); // as stored in a checkpoint
  assertEquals(saved.batches, 5);
  const expected = [original.next(), original.next(), original.next()];

  const resumed = new Batcher(tokens, 16, 4, new Rng(999));
  resumed.setState(saved);
  assertEquals(resumed.batches, 5);
  assertEquals([resumed.next(), resumed.next(), resumed.next()], expected);
  assertEquals(resumed.state(), original.state());
  assertThrows(() => resumed.setState({ rng: [1, 2, 3, 4], batches: -1 }), "invalid batcher state");
  assertThrows(() =>
    resumed.setState({ rng: [1, 2] as unknown as [number, number, number, number], batches: 0 })
  );
});

Deno.test("Batcher: too few tokens says how many are needed", () => {
  assertThrows(() => new Batcher(ramp(8), 8, 2, new Rng(0)), "8 tokens", "need at least 9");
  new Batcher(ramp(9), 8, 2, new Rng(0)).next(); // exactly one window fits
  assertThrows(() => new Batcher(ramp(9), 0, 2, new Rng(0)), "blockSize must be a positive integer");
  assertThrows(() => new Batcher(ramp(9), 2, 1.5, new Rng(0)), "batchSize");
});

Deno.test("evalWindows: evenly spaced from start to end, stable across calls", () => {
  const tokens = ramp(101);
  const w = evalWindows(tokens, 10, 2, 3); // 6 windows, starts 0, 18, 36, 54, 72, 90
  assertEquals(w.length, 3);
  const starts = w.flatMap(({ x }) => [x[0], x[10]]);
  assertEquals(starts, [0, 18, 36, 54, 72, 90]);
  for (const { x, y } of w) {
    for (let i = 0; i < x.length; i++) assertEquals(y[i], x[i] + 1);
  }
  assertEquals(evalWindows(tokens, 10, 2, 3), w);
  assertEquals(evalWindows(tokens, 10, 1, 1)[0].x[0], 0);
  assertThrows(() => evalWindows(ramp(5), 10, 1, 1), "evalWindows", "need at least 11");
  assertThrows(() => evalWindows(tokens, 10, 1, 0), "nBatches");
});
