/**
 * The one place where the test suite gets its assertions. JSR's `@std/assert` cannot be installed here, so this
 * wraps `node:assert/strict`; swapping back to `@std/assert` is a change to this file only.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Deep, strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.notDeepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assertTrue(cond: unknown, msg?: string): asserts cond {
  assert.ok(cond, msg);
}

/** Asserts |actual - expected| <= tol (absolute) for a number. */
export function assertClose(actual: number, expected: number, tol = 1e-6, msg?: string): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    assert.fail(`${msg ? msg + ": " : ""}expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** Element-wise {@link assertClose} with a relative+absolute tolerance: |a-b| <= atol + rtol·|b|. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-6,
  rtol = 1e-5,
  msg?: string,
): void {
  assert.equal(
    actual.length,
    expected.length,
    `${msg ?? "arrays"}: length ${actual.length} vs ${expected.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], b = expected[i];
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(
        `${msg ? msg + ": " : ""}element ${i}: expected ${b}, got ${a} (atol ${atol}, rtol ${rtol})`,
      );
    }
  }
}

/** Asserts that `fn` throws an Error whose message includes every string in `includes`; returns the error. */
export function assertThrows(fn: () => unknown, ...includes: string[]): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Error)) assert.fail(`threw a non-Error: ${String(e)}`);
    for (const s of includes) {
      if (!e.message.includes(s)) {
        assert.fail(`error message ${JSON.stringify(e.message)} lacks ${JSON.stringify(s)}`);
      }
    }
    return e;
  }
  assert.fail("expected the function to throw");
}

/** Async version of {@link assertThrows}. */
export async function assertRejects(fn: () => Promise<unknown>, ...includes: string[]): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof Error)) assert.fail(`threw a non-Error: ${String(e)}`);
    for (const s of includes) {
      if (!e.message.includes(s)) {
        assert.fail(`error message ${JSON.stringify(e.message)} lacks ${JSON.stringify(s)}`);
      }
    }
    return e;
  }
  assert.fail("expected the promise to reject");
}
