/**
 * The extraction monitor on synthetic streams: honest (independent Gaussian queries) raises no
 * alarm; an attacker's stream (tiny perturbations of a few points, as Jacobian augmentation
 * makes them) does; the sealed state restores the monitor exactly; and the verdict carries
 * integers only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorData } from '../../onnx/ort.ts';
import { seededRandom } from '../../util/seeded-prng.ts';
import { ExtractionMonitor, MONITOR_DELTA } from './monitor.ts';

const DIM = 40;
const CLASSES = 10;

function gaussian(rand: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** One FORWARD of `rows` (each DIM numbers), its class scores a one-hot of `classOf(row)`. */
function forward(rows: Float32Array[], classOf: (r: Float32Array) => number): [Record<string, TensorData>, Record<string, TensorData>] {
  const x = new Float32Array(rows.length * DIM);
  const y = new Float32Array(rows.length * CLASSES);
  rows.forEach((r, i) => { x.set(r, i * DIM); y[i * CLASSES + classOf(r)] = 1; });
  return [{ cut: { dtype: 'float32', dims: [rows.length, DIM], data: x } }, { probs: { dtype: 'float32', dims: [rows.length, CLASSES], data: y } }];
}

/** The class a "model" gives a vector: which tenth of the first coordinate's range it falls in. */
const classOf = (r: Float32Array): number => Math.min(CLASSES - 1, Math.max(0, Math.floor((r[0]! + 2.5) * 2)));

function honestRows(n: number, seed: number): Float32Array[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: DIM }, () => gaussian(rand)));
}

/** Papernot-style: a few seeds, then each round every point again, moved by ±λ in every coordinate. */
function attackRows(n: number, seed: number, seeds = 10, lambda = 0.05): Float32Array[] {
  const rand = seededRandom(seed);
  const out = honestRows(seeds, seed + 1);
  while (out.length < n) {
    for (const p of out.slice()) {
      if (out.length >= n) break;
      out.push(p.map((v) => v + (rand() < 0.5 ? -lambda : lambda)));
    }
  }
  return out.slice(0, n);
}

function run(m: ExtractionMonitor, rows: Float32Array[], batch = 16): void {
  for (let i = 0; i < rows.length; i += batch) m.observe(...forward(rows.slice(i, i + batch), classOf));
}

test('an honest stream (2,000 independent Gaussian queries) raises no alarm', () => {
  if (process.env.MONITOR_PROBE) console.log("probe");
  const m = new ExtractionMonitor();
  run(m, honestRows(2000, 1));
  const v = m.verdict();
  assert.equal(v.queries, 2000);
  assert.ok(v.n > 100, `a test ran (n ${v.n})`);
  assert.equal(v.alarm, 0, `W ${v.w / 1e6}, lowest ${v.minW / 1e6}, δ ${MONITOR_DELTA}`);
  assert.ok(v.minW / 1e6 >= MONITOR_DELTA);
});

test('a stream of tiny perturbations of a few points raises the alarm, within a few hundred queries', () => {
  const m = new ExtractionMonitor();
  run(m, attackRows(1000, 2));
  const v = m.verdict();
  assert.equal(v.alarm, 1, `W ${v.w / 1e6}, lowest ${v.minW / 1e6}`);
  assert.ok(v.alarmAt > 100 && v.alarmAt <= 400, `alarm at query ${v.alarmAt}`);
  assert.ok(v.minW / 1e6 < MONITOR_DELTA);
});

test('an honest prefix does not hide a later attack (the test pool is a window of the latest distances)', () => {
  const m = new ExtractionMonitor();
  run(m, honestRows(3000, 3));
  assert.equal(m.verdict().alarm, 0);
  run(m, attackRows(3000, 4));
  const v = m.verdict();
  assert.equal(v.alarm, 1, `lowest W ${v.minW / 1e6}`);
  assert.ok(v.alarmAt > 3000, `alarm at query ${v.alarmAt}`);
});

test('the sealed state restores the monitor exactly: continuing after a restore gives the uninterrupted verdict', () => {
  const rows = [...honestRows(700, 5), ...attackRows(700, 6)];
  const whole = new ExtractionMonitor();
  run(whole, rows);
  const first = new ExtractionMonitor();
  run(first, rows.slice(0, 800));
  const state = first.exportState();
  assert.ok(state.byteLength < 1.2 * 2 ** 20, `state is ${state.byteLength} bytes`);
  const restored = ExtractionMonitor.fromState(state);
  assert.deepEqual(restored.verdict(), first.verdict());
  assert.deepEqual(restored.exportState(), state);
  run(restored, rows.slice(800));
  assert.deepEqual(restored.verdict(), whole.verdict());
  assert.throws(() => ExtractionMonitor.fromState(state.subarray(0, state.byteLength - 1)), TypeError);
  const other = state.slice();
  other[0] = 9;
  assert.throws(() => ExtractionMonitor.fromState(other), TypeError);
});

test('memory stays bounded: 20,000 queries keep at most the point budget and the window', () => {
  const m = new ExtractionMonitor();
  run(m, honestRows(20000, 7), 256);
  // 2048 points × 128 float32 + 2000 distances × 8 bytes + headers.
  assert.ok(m.exportState().byteLength <= 2048 * 128 * 4 + 2000 * 8 + 4096, `${m.exportState().byteLength} bytes`);
  const v = m.verdict();
  for (const k of Object.keys(v) as (keyof typeof v)[]) assert.ok(Number.isSafeInteger(v[k]) && v[k] >= 0, `${k} is a non-negative integer`);
});

test('one pass serves every δ: the first test with W < δ in the onTest trace is where a monitor with that δ alarms', () => {
  const rows = [...honestRows(600, 11), ...attackRows(600, 12)];
  const tests: [number, number, number][] = [];
  const traced = new ExtractionMonitor({ onTest: (q, w, n) => tests.push([q, w, n]) });
  run(traced, rows);
  assert.ok(tests.length > 50, `${tests.length} tests`);
  const last = tests.at(-1)!;
  assert.equal(traced.verdict().w, Math.round(last[1] * 1e6), 'the verdict carries the last test\'s W');
  assert.equal(traced.verdict().n, last[2]);
  const lowest = Math.min(...tests.map(([, w]) => w));
  // The grid, and the edges: δ just above the lowest W alarms there; δ equal to it never does (W < δ, strict).
  for (const delta of [0.5, 0.8, 0.9, 0.95, 0.97, 0.99, lowest + 1e-9, lowest]) {
    const m = new ExtractionMonitor({ delta });
    run(m, rows);
    assert.equal(m.verdict().alarmAt, tests.find(([, w]) => w < delta)?.[0] ?? 0, `δ ${delta}`);
  }
});

test('a test needs more than minDistances distances left after the 3σ outliers are dropped (as the authors\' implementation)', () => {
  // One class; queries on a line, each one step further (steps 1.002, 1.003, … : every query
  // joins the set, its distance is its step), except 10 outliers 1000 away in a dimension of
  // their own, at queries 12, 22, …, 102. At query 111 the pool holds 110 distances, 10 of them
  // outliers: 100 remain, not enough; at query 121, 110 remain.
  const tests: [number, number][] = [];
  const m = new ExtractionMonitor({ onTest: (q, _w, n) => tests.push([q, n]) });
  let x = 0;
  const nAt = new Map<number, number>();
  for (let q = 1; q <= 130; q++) {
    const r = new Float32Array(DIM);
    const outlier = q >= 12 && q <= 102 && q % 10 === 2;
    if (outlier) { r[0] = x; r[(q - 2) / 10] = 1000; } else { if (q > 1) x += 1 + 0.001 * q; r[0] = x; }
    m.observe(...forward([r], () => 0));
    nAt.set(q, m.verdict().n);
  }
  assert.equal(nAt.get(111), 0, 'no test with only 100 distances left');
  assert.equal(nAt.get(121), 110);
  assert.deepEqual(tests[0], [121, 110]);
});
