// Tests for lib/eval/stats.ts against independent reference values.
//
// Every expected number below was produced once by scipy 1.17.1 (Python 3.11, numpy) and pasted in; the tests
// do not run Python. The scipy call that produced each group is named in the comment above it.

import assert from "node:assert/strict";
import {
  mean,
  meanInterval,
  pairedDifference,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  welchDifference,
} from "../../lib/eval/stats.ts";

/** Asserts `|actual − expected| ≤ max(rel · |expected|, abs)`. */
function assertClose(actual: number, expected: number, rel: number, abs = 0, what = ""): void {
  const tol = Math.max(rel * Math.abs(expected), abs);
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected}, got ${actual} (|diff| ${Math.abs(actual - expected)} > tol ${tol})`,
  );
}

// scipy.stats.t.cdf(t, df) for t in T_POINTS, one row per df.
const T_POINTS = [-3.0, -0.5, 0.0, 0.7, 2.0, 10.0];
const CDF_TABLE: ReadonlyArray<[number, number[]]> = [
  [1, [
    0.10241638234956672,
    0.35241638234956674,
    0.5,
    0.6944001122142147,
    0.8524163823495667,
    0.9682744825694465,
  ]],
  [2, [
    0.04773298313335456,
    0.33333333333333337,
    0.5,
    0.7218034876835673,
    0.908248290463863,
    0.9950737714883372,
  ]],
  [2.5, [
    0.036288047774515914,
    0.3288489599348574,
    0.5,
    0.728297528405226,
    0.9213042521210171,
    0.9977792521163463,
  ]],
  [5, [
    0.015049623948731293,
    0.31914943582046457,
    0.5,
    0.7424255258425918,
    0.9490302605850708,
    0.9999145262121285,
  ]],
  [30, [
    0.0026949820328259727,
    0.3103615024425636,
    0.5,
    0.7553397782501642,
    0.9726874775185085,
    0.9999999999771237,
  ]],
  [1000, [0.0013833545221190963, 0.30859254041693734, 0.5, 0.7579549430036988, 0.9771148267533741, 1.0]],
];

Deno.test("stats: studentTCdf matches scipy.stats.t.cdf for df 1, 2, 2.5, 5, 30, 1000", () => {
  for (const [df, row] of CDF_TABLE) {
    T_POINTS.forEach((t, i) => {
      assertClose(studentTCdf(t, df), row[i], 1e-12, 1e-15, `cdf(${t}, ${df})`);
    });
  }
});

Deno.test("stats: studentTCdf extreme lower tail keeps relative precision", () => {
  // scipy.stats.t.cdf(t, df)
  const cases: Array<[number, number, number]> = [
    [-1e4, 1, 3.183098851227577e-05],
    [-50, 5, 3.0238788133006125e-08],
    [-12, 30, 2.7900927075996303e-13],
    [-40, 2.5, 7.09781714524669e-05],
  ];
  for (const [t, df, expected] of cases) {
    assertClose(studentTCdf(t, df), expected, 1e-10, 0, `cdf(${t}, ${df})`);
  }
});

Deno.test("stats: studentTCdf edge values and symmetry", () => {
  assert.equal(studentTCdf(-Infinity, 3), 0);
  assert.equal(studentTCdf(Infinity, 3), 1);
  assert.equal(studentTCdf(0, 7.3), 0.5);
  assert.ok(Number.isNaN(studentTCdf(NaN, 3)));
  for (const df of [0.7, 3, 12.5]) {
    for (const t of [0.1, 1.3, 4]) {
      assertClose(studentTCdf(t, df) + studentTCdf(-t, df), 1, 0, 1e-15, `symmetry(${t}, ${df})`);
    }
  }
  assert.throws(() => studentTCdf(1, 0), RangeError);
  assert.throws(() => studentTCdf(1, -2), RangeError);
  assert.throws(() => studentTCdf(1, NaN), RangeError);
});

Deno.test("stats: studentTQuantile(0.975) matches scipy.stats.t.ppf for df 1, 2, 3, 4, 9, 29", () => {
  // scipy.stats.t.ppf(0.975, df)
  const cases: Array<[number, number]> = [
    [1, 12.706204736174694],
    [2, 4.302652729749462],
    [3, 3.1824463052837078],
    [4, 2.7764451051977934],
    [9, 2.262157162798205],
    [29, 2.045229642132703],
  ];
  for (const [df, expected] of cases) {
    assertClose(studentTQuantile(0.975, df), expected, 1e-10, 0, `ppf(0.975, ${df})`);
    assertClose(studentTQuantile(0.025, df), -expected, 1e-10, 0, `ppf(0.025, ${df})`);
  }
});

Deno.test("stats: studentTQuantile at other p and non-integer df", () => {
  // scipy.stats.t.ppf(p, df)
  const cases: Array<[number, number, number]> = [
    [0.9, 2.5, 1.7302509288071766],
    [0.05, 7, -1.8945786050900066],
    [0.995, 1000, 2.580754698065951],
    [0.3, 3.7, -0.5724353841388498],
  ];
  for (const [p, df, expected] of cases) {
    assertClose(studentTQuantile(p, df), expected, 1e-10, 0, `ppf(${p}, ${df})`);
  }
  assert.equal(studentTQuantile(0.5, 4), 0);
});

Deno.test("stats: studentTQuantile extreme tails (p = 1e-6 and 1 - 1e-6)", () => {
  // scipy.stats.t.ppf(1e-6, df) and scipy.stats.t.ppf(1 - 1e-6, df)
  const cases: Array<[number, number, number]> = [
    [1, -318309.8861827435, 318309.88617359026],
    [2.5, -220.17342917823686, 220.17342917570426],
    [5, -24.771029720515948, 24.771029720372493],
    [30, -5.871117120418882, 5.871117120408624],
  ];
  for (const [df, lower, upper] of cases) {
    assertClose(studentTQuantile(1e-6, df), lower, 1e-10, 0, `ppf(1e-6, ${df})`);
    assertClose(studentTQuantile(1 - 1e-6, df), upper, 1e-10, 0, `ppf(1-1e-6, ${df})`);
  }
});

Deno.test("stats: studentTQuantile inverts studentTCdf", () => {
  for (const df of [0.8, 1, 2, 3.3, 6, 40, 500]) {
    for (const p of [1e-9, 0.001, 0.1, 0.42, 0.77, 0.999]) {
      const t = studentTQuantile(p, df);
      assertClose(studentTCdf(t, df), p, 1e-10, 0, `cdf(ppf(${p}, ${df}))`);
    }
  }
});

Deno.test("stats: studentTQuantile rejects p outside (0, 1) and bad df", () => {
  for (const p of [0, 1, -0.1, 1.5, NaN]) {
    assert.throws(() => studentTQuantile(p, 3), RangeError, `p = ${p}`);
  }
  assert.throws(() => studentTQuantile(0.5, 0), RangeError);
  assert.throws(() => studentTQuantile(0.5, Infinity), RangeError);
});

Deno.test("stats: mean and sampleStd", () => {
  // numpy.mean(xs), numpy.std(xs, ddof=1)
  const xs = [3.5, 1.25, 2.0, 4.75];
  assertClose(mean(xs), 2.875, 1e-15, 0, "mean");
  assertClose(sampleStd(xs), 1.5612494995995996, 1e-14, 0, "std");
  assert.equal(mean([0.1, 0.1, 0.1]), 0.1);
  assert.equal(sampleStd([0.1, 0.1, 0.1]), 0);
  assert.ok(Number.isNaN(sampleStd([5])));
  assert.throws(() => mean([]), /no values/);
  assert.throws(() => sampleStd([]), /no values/);
  assert.throws(() => mean([1, Infinity]), /not a finite number at index 1/);
});

Deno.test("stats: meanInterval matches scipy.stats.t.interval", () => {
  // m = numpy.mean(xs); s = numpy.std(xs, ddof=1)
  // scipy.stats.t.interval(level, n - 1, loc=m, scale=s / sqrt(n)) for level 0.95 and 0.9
  const cases: Array<{ xs: number[]; m: number; s: number; ci95: [number, number]; ci90: [number, number] }> =
    [
      {
        xs: [0.512, 0.498, 0.530],
        m: 0.5133333333333333,
        s: 0.0160416125540213,
        ci95: [0.47348375863060144, 0.5531829080360652],
        ci90: [0.48628950924995645, 0.5403771574167101],
      },
      {
        xs: [2.31, 2.45, 2.28, 2.39, 2.50],
        m: 2.386,
        s: 0.09235799911215062,
        ci95: [2.2713223975563075, 2.5006776024436927],
        ci90: [2.297946727210436, 2.4740532727895643],
      },
    ];
  for (const c of cases) {
    const r = meanInterval(c.xs);
    assert.equal(r.n, c.xs.length);
    assertClose(r.mean, c.m, 1e-12, 0, "mean");
    assertClose(r.std, c.s, 1e-10, 0, "std");
    assertClose(r.lo, c.ci95[0], 1e-8, 0, "lo95");
    assertClose(r.hi, c.ci95[1], 1e-8, 0, "hi95");
    const r90 = meanInterval(c.xs, 0.9);
    assertClose(r90.lo, c.ci90[0], 1e-8, 0, "lo90");
    assertClose(r90.hi, c.ci90[1], 1e-8, 0, "hi90");
  }
});

Deno.test("stats: meanInterval edge cases (n = 1, n = 0, zero variance, bad level, NaN)", () => {
  const one = meanInterval([0.7]);
  assert.equal(one.n, 1);
  assert.equal(one.mean, 0.7);
  assert.ok(Number.isNaN(one.std) && Number.isNaN(one.lo) && Number.isNaN(one.hi));
  assert.throws(() => meanInterval([]), /no values/);
  assert.deepEqual(meanInterval([0.3, 0.3, 0.3, 0.3]), { n: 4, mean: 0.3, std: 0, lo: 0.3, hi: 0.3 });
  assert.throws(() => meanInterval([1, 2], 1), RangeError);
  assert.throws(() => meanInterval([1, 2], 0), RangeError);
  assert.throws(() => meanInterval([1, NaN, 2]), /not a finite number at index 1/);
});

// scipy.stats.ttest_rel(a, b): statistic, pvalue, df; r.confidence_interval(0.95): low, high
// (diff = numpy.mean(a - b); the CI also equals diff ± t.ppf(0.975, n-1) · std(a - b, ddof=1) / sqrt(n)).
const PAIRED_CASES: Array<{
  a: number[];
  b: number[];
  diff: number;
  t: number;
  p: number;
  df: number;
  lo: number;
  hi: number;
}> = [
  {
    a: [0.512, 0.498, 0.530],
    b: [0.470, 0.481, 0.495],
    diff: 0.03133333333333336,
    t: 4.2080179217369444,
    p: 0.052099501587221556,
    df: 2,
    lo: -0.0007046604932633566,
    hi: 0.06337132715993007,
  },
  {
    a: [2.31, 2.45, 2.28, 2.39, 2.50],
    b: [2.40, 2.41, 2.35, 2.47, 2.52],
    diff: -0.04400000000000004,
    t: -1.8176232464984614,
    p: 0.14327217917266005,
    df: 4,
    lo: -0.11121061961770332,
    hi: 0.023210619617703238,
  },
  {
    a: [1.0, 3.0, 2.0, 5.0, 4.0],
    b: [0.5, 2.9, 2.2, 3.1, 4.4],
    diff: 0.3799999999999999,
    t: 0.9287650618019038,
    p: 0.4055827335597119,
    df: 4,
    lo: -0.7559698844918357,
    hi: 1.5159698844918355,
  },
];

Deno.test("stats: pairedDifference matches scipy.stats.ttest_rel (n = 3 and n = 5)", () => {
  for (const c of PAIRED_CASES) {
    const r = pairedDifference(c.a, c.b);
    assert.equal(r.test, "paired t");
    assert.equal(r.n, c.a.length);
    assert.equal(r.df, c.df);
    assertClose(r.diff, c.diff, 1e-8, 0, "diff");
    assertClose(r.t, c.t, 1e-8, 0, "t");
    assertClose(r.p, c.p, 1e-8, 0, "p");
    assertClose(r.lo, c.lo, 1e-8, 0, "lo");
    assertClose(r.hi, c.hi, 1e-8, 0, "hi");
  }
  // scipy.stats.ttest_rel(a, b).confidence_interval(0.9)
  const r90 = pairedDifference(PAIRED_CASES[1].a, PAIRED_CASES[1].b, 0.9);
  assertClose(r90.lo, -0.09560654650465937, 1e-8, 0, "lo90");
  assertClose(r90.hi, 0.007606546504659258, 1e-8, 0, "hi90");
});

Deno.test("stats: pairedDifference with zero variance", () => {
  // Every difference is exactly 0.5: the interval collapses, t = +Infinity, p = 0.
  const up = pairedDifference([1, 2, 3], [0.5, 1.5, 2.5]);
  assert.deepEqual(up, { test: "paired t", n: 3, diff: 0.5, lo: 0.5, hi: 0.5, t: Infinity, df: 2, p: 0 });
  const down = pairedDifference([0.5, 1.5, 2.5], [1, 2, 3]);
  assert.equal(down.t, -Infinity);
  assert.equal(down.p, 0);
  // Identical configurations: diff 0, t = NaN, p = 1 (documented choice).
  const same = pairedDifference([0.25, 0.5, 0.75], [0.25, 0.5, 0.75]);
  assert.equal(same.diff, 0);
  assert.equal(same.lo, 0);
  assert.equal(same.hi, 0);
  assert.ok(Number.isNaN(same.t));
  assert.equal(same.p, 1);
});

Deno.test("stats: pairedDifference errors and n = 1", () => {
  assert.throws(() => pairedDifference([1, 2, 3], [1, 2]), /same length.*3 and 2/);
  assert.throws(() => pairedDifference([], []), /no values/);
  assert.throws(
    () => pairedDifference([1, NaN, 3], [1, 2, 3]),
    /a: value NaN is not a finite number at index 1/,
  );
  assert.throws(
    () => pairedDifference([1, 2, 3], [1, 2, NaN]),
    /b: value NaN is not a finite number at index 2/,
  );
  assert.throws(() => pairedDifference([1, 2], [3, 4], 1.5), RangeError);
  const single = pairedDifference([2], [1.5]);
  assert.equal(single.diff, 0.5);
  assert.equal(single.df, 0);
  assert.ok([single.lo, single.hi, single.t, single.p].every(Number.isNaN));
});

// scipy.stats.ttest_ind(a, b, equal_var=False): statistic, pvalue, df; r.confidence_interval(0.95): low, high
// (diff = numpy.mean(a) - numpy.mean(b)).
const WELCH_CASES: Array<{
  a: number[];
  b: number[];
  diff: number;
  t: number;
  p: number;
  df: number;
  lo: number;
  hi: number;
}> = [
  {
    a: [0.512, 0.498, 0.530],
    b: [0.470, 0.481, 0.495],
    diff: 0.031333333333333324,
    t: 2.6661973306477753,
    p: 0.05947344604537865,
    df: 3.7784342616085356,
    lo: -0.0020642569274126263,
    hi: 0.06473092359407928,
  },
  {
    a: [2.31, 2.45, 2.28, 2.39, 2.50],
    b: [2.40, 2.41, 2.35],
    diff: -0.0006666666666665932,
    t: -0.014722607616511276,
    p: 0.988787605057284,
    df: 5.342689293472369,
    lo: -0.11485712798050672,
    hi: 0.11352379464717353,
  },
  {
    a: [10.2, 9.8, 11.5, 10.9, 10.1],
    b: [8.7, 12.3, 9.9, 11.8, 7.6],
    diff: 0.4399999999999995,
    t: 0.4654586402114988,
    p: 0.6614069262562059,
    df: 4.938386265548705,
    lo: -1.9991289989095522,
    hi: 2.879128998909551,
  },
  // One sample has zero variance; df comes from the other one alone.
  {
    a: [1.0, 1.0, 1.0],
    b: [0.5, 0.7, 0.9],
    diff: 0.30000000000000004,
    t: 2.598076211353315,
    p: 0.1216899343463202,
    df: 2,
    lo: -0.1968275423500661,
    hi: 0.7968275423500659,
  },
];

Deno.test("stats: welchDifference matches scipy.stats.ttest_ind(equal_var=False)", () => {
  for (const c of WELCH_CASES) {
    const r = welchDifference(c.a, c.b);
    assert.equal(r.test, "Welch t");
    assert.deepEqual(r.n, [c.a.length, c.b.length]);
    assertClose(r.diff, c.diff, 1e-8, 0, "diff");
    assertClose(r.t, c.t, 1e-8, 0, "t");
    assertClose(r.df, c.df, 1e-8, 0, "df");
    assertClose(r.p, c.p, 1e-8, 0, "p");
    assertClose(r.lo, c.lo, 1e-8, 0, "lo");
    assertClose(r.hi, c.hi, 1e-8, 0, "hi");
  }
  // scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.99)
  const r99 = welchDifference(WELCH_CASES[2].a, WELCH_CASES[2].b, 0.99);
  assertClose(r99.lo, -3.3961930234767497, 1e-8, 0, "lo99");
  assertClose(r99.hi, 4.276193023476749, 1e-8, 0, "hi99");
});

Deno.test("stats: welchDifference zero variance, n = 1 and errors", () => {
  const both = welchDifference([1, 1, 1], [2, 2]);
  assert.equal(both.diff, -1);
  assert.equal(both.lo, -1);
  assert.equal(both.hi, -1);
  assert.equal(both.t, -Infinity);
  assert.equal(both.p, 0);
  assert.ok(Number.isNaN(both.df));
  const same = welchDifference([0.4, 0.4], [0.4, 0.4, 0.4]);
  assert.equal(same.diff, 0);
  assert.ok(Number.isNaN(same.t));
  assert.equal(same.p, 1);
  const single = welchDifference([1], [2, 3]);
  assert.deepEqual(single.n, [1, 2]);
  assert.equal(single.diff, -1.5);
  assert.ok([single.lo, single.hi, single.t, single.df, single.p].every(Number.isNaN));
  assert.throws(() => welchDifference([], [1, 2]), /at least 1 value/);
  assert.throws(() => welchDifference([1, 2, NaN], [1, 2]), /a: value NaN is not a finite number at index 2/);
  assert.throws(
    () => welchDifference([1, 2], [-Infinity, 2]),
    /b: value -Infinity is not a finite number at index 0/,
  );
  assert.throws(() => welchDifference([1, 2], [3, 4], 0), RangeError);
});
