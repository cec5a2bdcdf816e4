/**
 * Measures the extraction monitor (src/enclave/trusted/monitor.ts, docs/license-protocol.md
 * §5.2.1): the false-alarm rate on honest query streams and the queries until detection on
 * attack streams, for a grid of thresholds δ, per split.
 *
 *   node --import tsx scripts/protection-monitor.ts --model out/examples/mnist/model.onnx \
 *     [--dataset mnist|rt-polarity] [--private 1,3,8] [--shuffles 3] [--stream-lengths 2000,10000]
 *     [--attack-queries 6000] [--out DIR]
 *
 * The monitor is the enclave's own code with its defaults, fed exactly what the enclave feeds it
 * (enclave-state.ts #forward): the cut tensors — the head's outputs, computed here with
 * onnxruntime and the options the host's Session uses — and the tail's raw outputs, before the
 * output policy, one query after the other (the enclave observes a batch row by row, so batching
 * changes nothing). `src/license/monitor-e2e.test.ts` checks that such a replay gives the real
 * enclave's verdict to the last digit. The monitor's `onTest` hook hands over every test's
 * unrounded W; the alarm of a threshold δ is the first test with W < δ, so one pass serves every
 * δ (`src/enclave/trusted/monitor.test.ts` checks that against monitors built with each δ), and
 * every stream's alarm at the default δ is checked against the monitor's own verdict.
 *
 * Honest streams (a fresh monitor per stream; the false-alarm rate at δ is the share that alarm):
 * - mnist: the 10,000 test images in natural order and in `--shuffles` seeded permutations, and
 *   the training images 0–49,999 in natural order (the attacker's data, 50,000 on, is not
 *   among them), each cut into streams of every length in `--stream-lengths`;
 * - rt-polarity: the Rotten Tomatoes test set (1,066 sentences) in its order and shuffled, and
 *   the training set (9,596) in its order (the loader's seeded split order), likewise cut.
 * A stated limit, not counted in the rate: `limit: honest, each query sent twice` (the first
 * 2,000 test inputs, each twice in a row — a client that retries): PRADA assumes honest queries
 * are distinct natural samples.
 *
 * Attack streams (mnist; inputs float32 in [0, 1], [28, 28, 1]):
 * - attack-natural: natural images (training images 50,000 on, in order) — what `enclave-nn
 *   attack` sends (docs/attack.md); PRADA is not expected to see them;
 * - attack-jacobian λ 0.1: Papernot et al.'s Jacobian-based augmentation (AsiaCCS 2017), as
 *   PRADA evaluates it: 150 seed images (training images 50,000 on), then each round every point
 *   again, moved by λ = 0.1 along the sign of the substitute's Jacobian for the label the victim
 *   gave it, clipped to [0, 1]. The substitute is a softmax regression on the pixels retrained
 *   on the victim's labels each round (a DNN substitute gives other directions, not other
 *   steps: every step has the same length λ·√(pixels moved));
 * - attack-random-sign λ 0.1: the same rounds with a random sign per pixel — a control with the
 *   Jacobian stream's step length and structure but no direction;
 * - attack-uniform: independent uniform random images (the random queries of Tramèr et al.,
 *   USENIX Security 2016);
 * - attack-jacobian spaced 1:1 and 1:3: the Jacobian stream with 1 or 3 natural images (the
 *   attacker's own, after the seeds) after every synthetic query — an attacker who spaces its
 *   queries with natural data; the alarm query counts all queries, natural ones included.
 * For the two augmented streams the script also reports, over the first round's children, the
 * median distance child ↔ parent against the seeds' median nearest-neighbour distance, in the
 * input and in the cut space, and how many children the victim labels unlike their parent:
 * what PRADA's statistic sees (the step), beside what the direction does (the labels).
 *
 * Writes DIR/protection-monitor.json and DIR/protection-monitor.md (default out/protection-monitor).
 * Counts, not times: the numbers do not depend on the machine's load (`nice` it on a shared one).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/datasets/mnist.ts';
import { loadRtPolarity } from '../src/datasets/rt-polarity.ts';
import { ExtractionMonitor, MONITOR_DELTA } from '../src/enclave/trusted/monitor.ts';
import { loadModel } from '../src/load.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import { fromOrtResults, ORT_SESSION_OPTIONS, toOrtFeeds, type TensorData } from '../src/onnx/ort.ts';
import { splitModel } from '../src/split/index.ts';
import type { SplitResult } from '../src/split/extract.ts';
import { seededRandom } from '../src/util/seeded-prng.ts';

const DELTAS = [0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98];
const BATCH = 100;

const { values } = parseArgs({ options: {
  model: { type: 'string' }, dataset: { type: 'string' }, private: { type: 'string' }, shuffles: { type: 'string' },
  'stream-lengths': { type: 'string' }, 'attack-queries': { type: 'string' }, out: { type: 'string' },
} });
const fail = (line: string): never => { process.stderr.write(`protection-monitor: ${line}\n`); process.exit(2); };
const ints = (flag: string, v: string): number[] => v.split(',').map((s) => {
  if (!/^\d+$/.test(s)) fail(`${flag} must be a list of non-negative integers, got '${v}'`);
  return Number(s);
});
if (!values.model) fail('usage: node --import tsx scripts/protection-monitor.ts --model model.onnx [--dataset mnist|rt-polarity] [--private 1,3,8] [--shuffles 3] [--stream-lengths 2000,10000] [--attack-queries 6000] [--out DIR]');
const datasetName = values.dataset ?? 'mnist';
if (datasetName !== 'mnist' && datasetName !== 'rt-polarity') fail(`--dataset must be mnist or rt-polarity, got '${datasetName}'`);
const privateLayers = ints('--private', values.private ?? '1,3,8');
const shuffles = ints('--shuffles', values.shuffles ?? '3')[0]!;
const lengths = ints('--stream-lengths', values['stream-lengths'] ?? '2000,10000');
const attackQueries = ints('--attack-queries', values['attack-queries'] ?? '6000')[0]!;
if (lengths.some((l) => l < 1) || attackQueries < 300) fail('--stream-lengths must be positive and --attack-queries at least 300');
const out = resolve(values.out ?? 'out/protection-monitor');

/** The queries of one dataset: what one row is, the honest sources, the attacker's natural data. */
interface Dataset { rowShape: number[]; rowSize: number; classes: number; test: Float32Array; honest: [string, Float32Array][]; attacker?: Float32Array }

function dataset(): Dataset {
  const shuffled = (name: string, rows: Float32Array, rowSize: number): [string, Float32Array][] =>
    Array.from({ length: shuffles }, (_, s): [string, Float32Array] => [`${name} shuffled-${s + 1}`, reorder(rows, rowSize, permutation(rows.length / rowSize, s + 1))]);
  if (datasetName === 'mnist') {
    const test = loadMnist('test').images;
    const train = loadMnist('train').images;
    return { rowShape: [28, 28, 1], rowSize: 784, classes: 10, test,
      honest: [['test natural', test], ...shuffled('test', test, 784), ['train[0, 50000) natural', train.subarray(0, 50_000 * 784)]],
      attacker: train.subarray(50_000 * 784) };
  }
  const d = loadRtPolarity();
  return { rowShape: [d.maxLength], rowSize: d.maxLength, classes: 2, test: d.test.x,
    honest: [['test', d.test.x], ...shuffled('test', d.test.x, d.maxLength), ['train', d.train.x]] };
}

/** The victim as the monitor sees it: cut tensors and raw outputs of a batch of rows. */
class Victim {
  private constructor(readonly split: SplitResult, readonly data: Dataset, private readonly head: ort.InferenceSession | null, private readonly tail: ort.InferenceSession) {}
  static async create(split: SplitResult, data: Dataset): Promise<Victim> {
    const head = split.head ? await ort.InferenceSession.create(encodeModel(split.head), ORT_SESSION_OPTIONS) : null;
    return new Victim(split, data, head, await ort.InferenceSession.create(encodeModel(split.tail), ORT_SESSION_OPTIONS));
  }
  async run(rows: Float32Array): Promise<{ cut: Record<string, TensorData>; outputs: Record<string, TensorData> }> {
    const n = rows.length / this.data.rowSize;
    const feeds: Record<string, TensorData> = { [this.split.inputs[0]!.name]: { dtype: 'float32', dims: [n, ...this.data.rowShape], data: rows } };
    // With the whole model private the enclave receives the input itself.
    const cut = this.head ? fromOrtResults(await this.head.run(toOrtFeeds(feeds))) : feeds;
    const tailFeeds = Object.fromEntries(this.split.cutTensors.map((t) => [t.name, cut[t.name]!]));
    return { cut: tailFeeds, outputs: fromOrtResults(await this.tail.run(toOrtFeeds(tailFeeds))) };
  }
  /** The victim's labels (argmax of the first [n, C] output). */
  async labels(rows: Float32Array): Promise<Uint8Array> {
    const c = this.data.classes;
    const all = new Uint8Array(rows.length / this.data.rowSize);
    for (let i = 0; i < all.length; i += BATCH) {
      const { outputs } = await this.run(rows.subarray(i * this.data.rowSize, Math.min(all.length, i + BATCH) * this.data.rowSize));
      const y = Object.values(outputs).find((t) => t.dims.length === 2 && t.dims[1] === c)!;
      for (let r = 0; r < y.dims[0]!; r++) all[i + r] = argmax(y.data as Float32Array, r * c, c);
    }
    return all;
  }
  /** Each row's cut tensors, concatenated (for the distance diagnostics). */
  async cutRows(rows: Float32Array): Promise<Float32Array[]> {
    const res: Float32Array[] = [];
    for (let i = 0; i < rows.length / this.data.rowSize; i += BATCH) {
      const { cut } = await this.run(rows.subarray(i * this.data.rowSize, Math.min(rows.length / this.data.rowSize, i + BATCH) * this.data.rowSize));
      const ts = Object.keys(cut).sort().map((k) => cut[k]!);
      for (let r = 0; r < ts[0]!.dims[0]!; r++) {
        const parts = ts.map((t) => { const w = t.data.length / t.dims[0]!; return (t.data as Float32Array).slice(r * w, (r + 1) * w); });
        const v = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
        let o = 0;
        for (const p of parts) { v.set(p, o); o += p.length; }
        res.push(v);
      }
    }
    return res;
  }
}

function argmax(a: ArrayLike<number>, o: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (a[o + c]! > a[o + best]!) best = c;
  return best;
}

/** Row `r` of every tensor, as a batch of one. */
function row(ts: Record<string, TensorData>, r: number): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(ts).map(([k, t]) => {
    const w = t.data.length / t.dims[0]!;
    return [k, { dtype: t.dtype, dims: [1, ...t.dims.slice(1)], data: (t.data as Float32Array).subarray(r * w, (r + 1) * w) }];
  }));
}

interface Trace { stream: string; queries: number; tests: [number, number][]; verdictAlarmAt: number }

/**
 * Runs `rows` through the victim once; every length in `lens` cuts them into consecutive streams
 * of that length, each through a fresh monitor (the enclave's defaults) that records every test.
 */
async function traceStreams(victim: Victim, name: string, rows: Float32Array, lens: number[]): Promise<Trace[]> {
  const size = victim.data.rowSize;
  const n = rows.length / size;
  const streams = lens.flatMap((len) => Array.from({ length: Math.floor(n / len) }, (_, j) => {
    const tests: [number, number][] = [];
    return { len, start: j * len, tests, m: new ExtractionMonitor({ onTest: (q, w) => tests.push([q, w]) }) };
  }));
  const end = Math.max(0, ...streams.map((s) => s.start + s.len));
  for (let i = 0; i < end; i += BATCH) {
    const b = Math.min(BATCH, end - i);
    const { cut, outputs } = await victim.run(rows.subarray(i * size, (i + b) * size));
    for (let r = 0; r < b; r++) {
      const q = i + r;
      const live = streams.filter((s) => q >= s.start && q < s.start + s.len);
      if (live.length === 0) continue;
      const c = row(cut, r);
      const o = row(outputs, r);
      for (const s of live) s.m.observe(c, o);
    }
  }
  return streams.map((s) => ({ stream: s.len === n ? name : `${name} [${s.start}, ${s.start + s.len})`, queries: s.len, tests: s.tests, verdictAlarmAt: s.m.verdict().alarmAt }));
}

/** The first query at which W < δ, or null (no alarm). */
const alarmAt = (tests: [number, number][], delta: number): number | null => tests.find(([, w]) => w < delta)?.[0] ?? null;
const lowestW = (tests: [number, number][]): number => tests.reduce((m, [, w]) => Math.min(m, w), 1);

function permutation(n: number, seed: number): Uint32Array {
  const rand = seededRandom(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [p[i], p[j]] = [p[j]!, p[i]!]; }
  return p;
}
function reorder(rows: Float32Array, size: number, p: Uint32Array): Float32Array {
  const o = new Float32Array(p.length * size);
  p.forEach((src, i) => o.set(rows.subarray(src * size, (src + 1) * size), i * size));
  return o;
}
/** Every row twice in a row. */
function doubled(rows: Float32Array, size: number): Float32Array {
  const n = rows.length / size;
  const o = new Float32Array(2 * rows.length);
  for (let i = 0; i < n; i++) { const r = rows.subarray(i * size, (i + 1) * size); o.set(r, 2 * i * size); o.set(r, (2 * i + 1) * size); }
  return o;
}

const PIXELS = 784;
const CLASSES = 10;

/** A softmax regression on the pixels, trained on (x, y) by full-batch gradient descent. */
function trainSubstitute(x: Float32Array, y: Uint8Array, epochs = 30, lr = 0.5): { w: Float32Array; b: Float32Array } {
  const n = y.length;
  const w = new Float32Array(PIXELS * CLASSES);
  const b = new Float32Array(CLASSES);
  const p = new Float64Array(CLASSES);
  for (let e = 0; e < epochs; e++) {
    const gw = new Float64Array(PIXELS * CLASSES);
    const gb = new Float64Array(CLASSES);
    for (let i = 0; i < n; i++) {
      const xi = x.subarray(i * PIXELS, (i + 1) * PIXELS);
      softmax(w, b, xi, p);
      p[y[i]!]! -= 1;
      for (let c = 0; c < CLASSES; c++) gb[c]! += p[c]!;
      for (let j = 0; j < PIXELS; j++) { const v = xi[j]!; if (v !== 0) for (let c = 0; c < CLASSES; c++) gw[j * CLASSES + c]! += v * p[c]!; }
    }
    for (let k = 0; k < w.length; k++) w[k]! -= (lr * gw[k]!) / n;
    for (let c = 0; c < CLASSES; c++) b[c]! -= (lr * gb[c]!) / n;
  }
  return { w, b };
}

function softmax(w: Float32Array, b: Float32Array, x: Float32Array, p: Float64Array): void {
  for (let c = 0; c < CLASSES; c++) p[c] = b[c]!;
  for (let j = 0; j < PIXELS; j++) { const v = x[j]!; if (v !== 0) for (let c = 0; c < CLASSES; c++) p[c]! += v * w[j * CLASSES + c]!; }
  let max = -Infinity;
  for (let c = 0; c < CLASSES; c++) max = Math.max(max, p[c]!);
  let s = 0;
  for (let c = 0; c < CLASSES; c++) { p[c] = Math.exp(p[c]! - max); s += p[c]!; }
  for (let c = 0; c < CLASSES; c++) p[c]! /= s;
}

interface Augmented { rows: Float32Array; parent: Int32Array; labels: Uint8Array; agreement: number[] }

/**
 * Papernot's augmentation rounds from `seeds` until `total` queries: each round every point
 * again, moved λ along `direction(x, label)` (±1 per pixel), clipped to [0, 1]. `parent[i]` is
 * the point query i was made from (−1 for a seed).
 */
async function augmented(victim: Victim, seeds: Float32Array, total: number, direction: 'jacobian' | 'random', lambda = 0.1): Promise<Augmented> {
  const rand = seededRandom(17);
  let set = seeds;
  let labels = await victim.labels(set);
  let parent = new Int32Array(seeds.length / PIXELS).fill(-1);
  const agreement: number[] = [];
  const p = new Float64Array(CLASSES);
  while (set.length / PIXELS < total) {
    const n = set.length / PIXELS;
    const sub = direction === 'jacobian' ? trainSubstitute(set, labels) : undefined;
    if (sub) {
      // How well the substitute agrees with the victim on its own training set (a substitute that learned nothing gives directions no better than random).
      let agree = 0;
      for (let i = 0; i < n; i++) { softmax(sub.w, sub.b, set.subarray(i * PIXELS, (i + 1) * PIXELS), p); agree += argmax(p, 0, CLASSES) === labels[i] ? 1 : 0; }
      agreement.push(agree / n);
    }
    const fresh = new Float32Array(Math.min(n, total - n) * PIXELS);
    for (let i = 0; i < fresh.length / PIXELS; i++) {
      const xi = set.subarray(i * PIXELS, (i + 1) * PIXELS);
      if (sub) softmax(sub.w, sub.b, xi, p);
      for (let j = 0; j < PIXELS; j++) {
        let s: number;
        if (sub) {
          // ∂p_c/∂x_j = p_c (w_jc − Σ_k p_k w_jk) for the label c the victim gave: its sign.
          let mean = 0;
          for (let k = 0; k < CLASSES; k++) mean += p[k]! * sub.w[j * CLASSES + k]!;
          s = Math.sign(sub.w[j * CLASSES + labels[i]!]! - mean);
        } else {
          s = rand() < 0.5 ? -1 : 1;
        }
        fresh[i * PIXELS + j] = Math.min(1, Math.max(0, xi[j]! + lambda * s));
      }
    }
    const m = fresh.length / PIXELS;
    const next = new Float32Array(set.length + fresh.length);
    next.set(set);
    next.set(fresh, set.length);
    const freshLabels = await victim.labels(fresh);
    const nextLabels = new Uint8Array(n + m);
    nextLabels.set(labels);
    nextLabels.set(freshLabels, n);
    const nextParent = new Int32Array(n + m);
    nextParent.set(parent);
    for (let i = 0; i < m; i++) nextParent[n + i] = i;
    set = next;
    labels = nextLabels;
    parent = nextParent;
  }
  return { rows: set, parent, labels, agreement };
}

/** `every` natural rows after each synthetic one, `total` rows in all. */
function spaced(synthetic: Float32Array, natural: Float32Array, every: number, total: number): Float32Array {
  const o = new Float32Array(total * PIXELS);
  let s = 0;
  let n = 0;
  for (let i = 0; i < total; i++) {
    const fromSynthetic = i % (every + 1) === 0;
    const src = fromSynthetic ? synthetic : natural;
    const k = fromSynthetic ? s++ : n++;
    if ((k + 1) * PIXELS > src.length) fail('not enough rows for the spaced stream: lower --attack-queries');
    o.set(src.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
  }
  return o;
}

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i]! - b[i]!; s += d * d; }
  return Math.sqrt(s);
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
const rowsOf = (rows: Float32Array, idx: number[]): Float32Array => reorder(rows, PIXELS, Uint32Array.from(idx));
/** Median nearest-neighbour distance within `vs`. */
const nnMedian = (vs: Float32Array[]): number => median(vs.map((v, i) => Math.min(...vs.map((u, j) => (i === j ? Infinity : l2(u, v))))));

interface StepStats { children: number; childParentInput: number; seedNnInput: number; childParentCut: number; seedNnCut: number; labelFlips: number }

/** What the first round of an augmented stream looks like to PRADA: the step against the natural spacing, in the input and the cut space. */
async function stepStats(victim: Victim, a: Augmented, seeds: number): Promise<StepStats> {
  const children = Array.from({ length: Math.min(seeds, a.parent.length - seeds) }, (_, i) => seeds + i);
  const parents = children.map((c) => a.parent[c]!);
  const seedIdx = Array.from({ length: seeds }, (_, i) => i);
  const x = (idx: number[]): Float32Array[] => idx.map((i) => a.rows.subarray(i * PIXELS, (i + 1) * PIXELS));
  const [cutChildren, cutParents] = [await victim.cutRows(rowsOf(a.rows, children)), await victim.cutRows(rowsOf(a.rows, parents))];
  const xc = x(children);
  const xp = x(parents);
  return {
    children: children.length,
    childParentInput: median(xc.map((v, i) => l2(v, xp[i]!))),
    seedNnInput: nnMedian(x(seedIdx)),
    childParentCut: median(cutChildren.map((v, i) => l2(v, cutParents[i]!))),
    seedNnCut: nnMedian(cutParents.slice(0, seeds)),
    labelFlips: children.filter((c, i) => a.labels[c] !== a.labels[parents[i]!]).length,
  };
}

interface StreamResult { split: number; stream: string; kind: 'honest' | 'limit' | 'attack'; queries: number; lowestW: number; alarmAt: Record<string, number | null> }

const data = dataset();
const model = await loadModel(values.model!);
const results: StreamResult[] = [];
const steps: Record<string, StepStats & { split: number; agreement?: number[] }> = {};
let replayMismatches = 0;
const record = (split: number, kind: StreamResult['kind'], traces: Trace[]): void => {
  for (const t of traces) {
    const r: StreamResult = { split, stream: t.stream, kind, queries: t.queries, lowestW: lowestW(t.tests), alarmAt: Object.fromEntries(DELTAS.map((d) => [String(d), alarmAt(t.tests, d)])) };
    // The trace must give the monitor's own verdict at its default δ.
    if ((alarmAt(t.tests, MONITOR_DELTA) ?? 0) !== t.verdictAlarmAt) {
      replayMismatches++;
      process.stderr.write(`protection-monitor: WARNING k=${split} ${t.stream}: the trace's alarm at δ ${MONITOR_DELTA} differs from the monitor's verdict (${t.verdictAlarmAt})\n`);
    }
    results.push(r);
    process.stderr.write(`k=${split} ${t.stream}: ${t.queries} queries, ${t.tests.length} tests, lowest W ${r.lowestW.toFixed(4)}, alarm at δ ${MONITOR_DELTA}: ${alarmAt(t.tests, MONITOR_DELTA) ?? 'none'}\n`);
  }
};

for (const k of privateLayers) {
  const victim = await Victim.create(await splitModel(model, { privateLayers: k }), data);
  for (const [name, rows] of data.honest) record(k, 'honest', await traceStreams(victim, name, rows, lengths));
  const firstTest = data.test.subarray(0, Math.min(2000, data.test.length / data.rowSize) * data.rowSize);
  record(k, 'limit', await traceStreams(victim, 'limit: honest test inputs, each sent twice in a row', doubled(firstTest, data.rowSize), [2 * firstTest.length / data.rowSize]));
  if (!data.attacker) continue;
  const SEEDS = 150;
  const natural = data.attacker;
  const one = async (name: string, rows: Float32Array): Promise<void> => record(k, 'attack', await traceStreams(victim, name, rows, [rows.length / PIXELS]));
  await one('attack-natural', natural.subarray(0, Math.min(attackQueries, natural.length / PIXELS) * PIXELS));
  const seeds = natural.subarray(0, SEEDS * PIXELS);
  const jac = await augmented(victim, seeds, attackQueries, 'jacobian');
  process.stderr.write(`  jacobian substitute agrees with the victim on ${jac.agreement.map((a) => `${(100 * a).toFixed(1)} %`).join(', ')} of its training points, by round\n`);
  await one('attack-jacobian λ 0.1', jac.rows);
  const rnd = await augmented(victim, seeds, attackQueries, 'random');
  await one('attack-random-sign λ 0.1', rnd.rows);
  steps[`k=${k} jacobian`] = { split: k, ...(await stepStats(victim, jac, SEEDS)), agreement: jac.agreement };
  steps[`k=${k} random-sign`] = { split: k, ...(await stepStats(victim, rnd, SEEDS)) };
  const rand = seededRandom(23);
  await one('attack-uniform', Float32Array.from({ length: attackQueries * PIXELS }, () => rand()));
  const after = natural.subarray(SEEDS * PIXELS);
  await one('attack-jacobian spaced 1:1 with natural', spaced(jac.rows, after, 1, attackQueries));
  await one('attack-jacobian spaced 1:3 with natural', spaced(jac.rows, after, 3, attackQueries));
}

// The tables, per split: rows δ; columns the false alarms per stream length, then each attack's alarm query.
const lines: string[] = [];
for (const k of privateLayers) {
  const mine = results.filter((r) => r.split === k);
  const honest = lengths.map((len) => mine.filter((r) => r.kind === 'honest' && r.queries === len)).filter((hs) => hs.length > 0);
  const others = mine.filter((r) => r.kind !== 'honest');
  lines.push(`### ${datasetName}, --private ${k}`, '');
  lines.push(`| δ | ${honest.map((hs) => `honest: false alarms, ${hs.length} streams of ${hs[0]!.queries}`).join(' | ')} | ${others.map((r) => `${r.stream} (${r.queries}): alarm at query`).join(' | ')} |`);
  lines.push(`| --- | ${honest.map(() => '---').join(' | ')} | ${others.map(() => '---').join(' | ')} |`);
  for (const d of DELTAS) {
    lines.push(`| ${d} | ${honest.map((hs) => `${hs.filter((r) => r.alarmAt[String(d)] !== null).length}/${hs.length}`).join(' | ')} | ${others.map((r) => r.alarmAt[String(d)] ?? 'none').join(' | ')} |`);
  }
  lines.push(`| lowest W | ${honest.map((hs) => Math.min(...hs.map((r) => r.lowestW)).toFixed(4)).join(' | ')} | ${others.map((r) => r.lowestW.toFixed(4)).join(' | ')} |`, '');
  for (const [name, s] of Object.entries(steps).filter(([, s]) => s.split === k)) {
    lines.push(`- ${name}, first round (${s.children} children): child ↔ parent median ${s.childParentInput.toFixed(3)} in the input (seeds' nearest neighbour ${s.seedNnInput.toFixed(3)}), ${s.childParentCut.toFixed(3)} in the cut space (seeds' nearest neighbour ${s.seedNnCut.toFixed(3)}); the victim labels ${s.labelFlips} children unlike their parent${s.agreement ? `; the substitute agrees with the victim on ${s.agreement.map((a) => `${(100 * a).toFixed(0)} %`).join(', ')} of its training points by round` : ''}`);
  }
  lines.push('');
}
lines.push(`Replay check: ${replayMismatches === 0 ? 'every stream\'s alarm at the default δ equals the monitor\'s own verdict' : `${replayMismatches} streams differ from the monitor's verdict (see stderr)`}.`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'protection-monitor.json'), JSON.stringify({ model: values.model, dataset: datasetName, deltas: DELTAS, defaultDelta: MONITOR_DELTA, loadavg: loadavg(), at: new Date().toISOString(), replayMismatches, steps, results }, null, 2) + '\n');
writeFileSync(join(out, 'protection-monitor.md'), lines.join('\n') + '\n');
process.stdout.write(lines.join('\n') + `\n\nwrote ${join(out, 'protection-monitor.json')} and protection-monitor.md\n`);
