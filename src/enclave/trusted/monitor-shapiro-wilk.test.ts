/**
 * Shapiro–Wilk W against SciPy's values (testdata/vectors/monitor/shapiro-wilk.json, written by
 * `scipy.stats.shapiro`, Royston 1995), and the edges of the approximation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalQuantile, shapiroWilkW } from './monitor-shapiro-wilk.ts';

const vectors = JSON.parse(readFileSync(new URL('../../../testdata/vectors/monitor/shapiro-wilk.json', import.meta.url), 'utf8')) as { cases: { name: string; n: number; w: number; x: number[] }[] };

test('Shapiro–Wilk W equals SciPy to 1e-6 on every reference sample (n = 3 … 2000, normal, skewed, bimodal)', () => {
  assert.ok(vectors.cases.length >= 20);
  for (const c of vectors.cases) {
    assert.equal(c.x.length, c.n);
    const w = shapiroWilkW(c.x);
    assert.ok(Math.abs(w - c.w) <= 1e-6 * c.w, `${c.name}: W ${w}, SciPy ${c.w}`);
  }
});

test('Shapiro–Wilk W ignores the order of the sample and refuses sizes outside 3 … 5000', () => {
  const c = vectors.cases.find((v) => v.n === 100)!;
  assert.equal(shapiroWilkW([...c.x].reverse()), shapiroWilkW(c.x));
  assert.equal(shapiroWilkW([2, 2, 2, 2]), 1);
  assert.throws(() => shapiroWilkW([1, 2]), RangeError);
  assert.throws(() => shapiroWilkW(new Float64Array(5001)), RangeError);
});

test('normalQuantile matches known quantiles of the standard normal', () => {
  for (const [p, z] of [[0.5, 0], [0.975, 1.959963984540054], [0.025, -1.959963984540054], [1e-10, -6.361340902404056], [0.8, 0.8416212335729143]] as const) {
    assert.ok(Math.abs(normalQuantile(p) - z) < 1e-12, `Φ⁻¹(${p}) = ${normalQuantile(p)}, expected ${z}`);
  }
});
