/**
 * Measures the extraction monitor (src/enclave/trusted/monitor.ts, docs/license-protocol.md
 * §5.2.1) on the MNIST CNN: the false-alarm rate on honest query streams and the queries until
 * detection on attack streams, for a grid of thresholds δ, per split.
 *
 *   node --import tsx scripts/protection-monitor.ts --model out/examples/mnist/model.onnx \
 *     [--private 1,3,8] [--shuffles 3] [--stream-lengths 2000,10000] [--attack-queries 6000] [--out DIR]
 *
 * The monitor is the enclave's own code, fed exactly what the enclave feeds it: the cut tensors
 * (the head's outputs, computed here with onnxruntime as the host computes them) and the tail's
 * raw outputs, one query at a time — `src/license/monitor-e2e.test.ts` checks that this replay
 * gives the enclave's verdict to the last digit. One pass records every test's W (each 10
 * queries); the alarm of a threshold δ is the first test with W < δ, so one pass serves every δ.
 *
 * Streams (every image float32 in [0, 1], [28, 28, 1]):
 * - honest: the 10,000 MNIST test images in natural order, and `--shuffles` seeded permutations
 *   of them, each cut into streams of every length in `--stream-lengths` (a fresh monitor per
 *   stream). The false-alarm rate at δ is the share of those streams that alarm.
 * - attack-natural: the attack tool's queries (docs/attack.md): natural training images from
 *   50,000 on, in order — what `enclave-nn attack` sends; PRADA is not expected to see these.
 * - attack-jacobian: Papernot et al.'s Jacobian-based augmentation (AsiaCCS 2017), as PRADA
 *   evaluates it: 150 seed images (training images 50,000 on), then each round every point
 *   again, moved by λ = 0.1 along the sign of the substitute's Jacobian for the label the
 *   victim gave it, clipped to [0, 1]. The substitute here is a softmax regression on the pixels
 *   retrained on the victim's labels each round (a DNN substitute gives other directions; the
 *   stream's shape — small steps around few seeds — is the same).
 * - attack-random: the same rounds with a random sign per pixel instead of the Jacobian's
 *   (PRADA's T-RND-like synthetic queries).
 *
 * Writes DIR/protection-monitor.json and DIR/protection-monitor.md (default out/protection-monitor).
 * Counts, not times: the numbers do not depend on the machine's load, but the run takes minutes of
 * CPU per split (the head runs over every stream).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadMnist } from '../src/datasets/mnist.ts';
import { ExtractionMonitor, MONITOR_DELTA } from '../src/enclave/trusted/monitor.ts';
import { loadModel } from '../src/load.ts';
import { encodeModel } from '../src/onnx/codec.ts';
import { fromOrtResults, ORT_SESSION_OPTIONS, toOrtFeeds, type TensorData } from '../src/onnx/ort.ts';
import { splitModel } from '../src/split/index.ts';
import type { SplitResult } from '../src/split/extract.ts';
import { seededRandom } from '../src/util/seeded-prng.ts';

const DELTAS = [0.8, 0.85, 0.9, 0.95, 0.97];
const PIXELS = 784;
const BATCH = 100;
const CLASSES = 10;

const { values } = parseArgs({ options: {
  model: { type: 'string' }, private: { type: 'string' }, shuffles: { type: 'string' }, 'stream-lengths': { type: 'string' },
  'attack-queries': { type: 'string' }, out: { type: 'string' },
} });
const ints = (flag: string, v: string): number[] => v.split(',').map((s) => {
  if (!/^\d+$/.test(s)) { process.stderr.write(`protection-monitor: ${flag} must be a list of non-negative integers, got '${v}'\n`); process.exit(2); }
  return Number(s);
});
if (!values.model) {
  process.stderr.write('usage: node --import tsx scripts/protection-monitor.ts --model model.onnx [--private 1,3,8] [--shuffles 3] [--stream-lengths 2000,10000] [--attack-queries 6000] [--out DIR]\n');
  process.exit(2);
}
const privateLayers = ints('--private', values.private ?? '1,3,8');
const shuffles = ints('--shuffles', values.shuffles ?? '3')[0]!;
const lengths = ints('--stream-lengths', values['stream-lengths'] ?? '2000,10000');
const attackQueries = ints('--attack-queries', values['attack-queries'] ?? '6000')[0]!;
const out = resolve(values.out ?? 'out/protection-monitor');

/** The victim as the monitor sees it: cut tensors and raw outputs of a batch of images. */
class Victim {
  private constructor(readonly split: SplitResult, private readonly head: ort.InferenceSession | null, private readonly tail: ort.InferenceSession) {}
  static async create(split: SplitResult): Promise<Victim> {
    const head = split.head ? await ort.InferenceSession.create(encodeModel(split.head), ORT_SESSION_OPTIONS) : null;
    return new Victim(split, head, await ort.InferenceSession.create(encodeModel(split.tail), ORT_SESSION_OPTIONS));
  }
  async run(images: Float32Array): Promise<{ cut: Record<string, TensorData>; outputs: Record<string, TensorData> }> {
    const n = images.length / PIXELS;
    const feeds: Record<string, TensorData> = { [this.split.inputs[0]!.name]: { dtype: 'float32', dims: [n, 28, 28, 1], data: images } };
    // With the whole model private the enclave receives the input itself.
    const cut = this.head ? fromOrtResults(await this.head.run(toOrtFeeds(feeds))) : feeds;
    const tailFeeds = Object.fromEntries(this.split.cutTensors.map((t) => [t.name, cut[t.name]!]));
    return { cut: tailFeeds, outputs: fromOrtResults(await this.tail.run(toOrtFeeds(tailFeeds))) };
  }
  /** The victim's labels (argmax of the first [n, C] output). */
  async labels(images: Float32Array): Promise<Uint8Array> {
    const { outputs } = await this.run(images);
    const y = Object.values(outputs).find((t) => t.dims.length === 2 && t.dims[1] === CLASSES)!;
    const n = y.dims[0]!;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = argmax(y.data as Float32Array, i * CLASSES, CLASSES);
    return out;
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

/** One stream through a fresh monitor: every test's W, as [query count, W]. */
async function trace(victim: Victim, images: Float32Array): Promise<{ queries: number; tests: [number, number][] }> {
  const m = new ExtractionMonitor();
  const tests: [number, number][] = [];
  const n = images.length / PIXELS;
  for (let i = 0; i < n; i += BATCH) {
    const { cut, outputs } = await victim.run(images.subarray(i * PIXELS, Math.min(n, i + BATCH) * PIXELS));
    for (let r = 0; r < cut[Object.keys(cut)[0]!]!.dims[0]!; r++) {
      m.observe(row(cut, r), row(outputs, r));
      const v = m.verdict();
      // The latest test's W (tests run every 10 queries once more than 100 distances are pooled).
      if (v.n !== 0 && (v.queries - 1) % 10 === 0) tests.push([v.queries, v.w / 1e6]);
    }
  }
  return { queries: n, tests };
}

/** The first query at which W < δ, or null (no alarm). */
const alarmAt = (tests: [number, number][], delta: number): number | null => tests.find(([, w]) => w < delta)?.[0] ?? null;
const minW = (tests: [number, number][]): number => tests.reduce((m, [, w]) => Math.min(m, w), 1);

function permutation(n: number, seed: number): Uint32Array {
  const rand = seededRandom(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [p[i], p[j]] = [p[j]!, p[i]!]; }
  return p;
}
const reorder = (images: Float32Array, p: Uint32Array): Float32Array => {
  const out = new Float32Array(p.length * PIXELS);
  p.forEach((src, i) => out.set(images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS));
  return out;
};

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

/**
 * Papernot's augmentation rounds from `seeds` until `total` queries: each round every point
 * again, moved λ along `direction(x, label)` (±1 per pixel), clipped to [0, 1].
 */
async function augmented(victim: Victim, seeds: Float32Array, total: number, direction: 'jacobian' | 'random', lambda = 0.1): Promise<Float32Array> {
  const rand = seededRandom(17);
  let set = seeds;
  let labels = await victim.labels(set);
  const p = new Float64Array(CLASSES);
  while (set.length / PIXELS < total) {
    const n = set.length / PIXELS;
    const sub = direction === 'jacobian' ? trainSubstitute(set, labels) : undefined;
    if (sub) {
      // How well the substitute agrees with the victim on its own training set (a diagnostic: a substitute that learned nothing gives directions no better than random).
      let agree = 0;
      for (let i = 0; i < n; i++) { softmax(sub.w, sub.b, set.subarray(i * PIXELS, (i + 1) * PIXELS), p); agree += argmax(p, 0, CLASSES) === labels[i] ? 1 : 0; }
      process.stderr.write(`  jacobian round at ${n} points: substitute agrees with the victim on ${(100 * agree / n).toFixed(1)} % of them\n`);
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
    const next = new Float32Array(set.length + fresh.length);
    next.set(set);
    next.set(fresh, set.length);
    const freshLabels = await victim.labels(fresh);
    const nextLabels = new Uint8Array(labels.length + freshLabels.length);
    nextLabels.set(labels);
    nextLabels.set(freshLabels, labels.length);
    set = next;
    labels = nextLabels;
  }
  return set;
}

interface StreamResult { split: number; stream: string; kind: 'honest' | 'attack'; queries: number; minW: number; alarmAt: Record<string, number | null> }

const model = await loadModel(values.model);
const test = loadMnist('test');
const train = loadMnist('train');
const attackerImages = train.images.subarray(50_000 * PIXELS);
const results: StreamResult[] = [];
const record = (split: number, stream: string, kind: StreamResult['kind'], t: { queries: number; tests: [number, number][] }): void => {
  const r: StreamResult = { split, stream, kind, queries: t.queries, minW: minW(t.tests), alarmAt: Object.fromEntries(DELTAS.map((d) => [String(d), alarmAt(t.tests, d)])) };
  results.push(r);
  process.stderr.write(`k=${split} ${stream}: ${t.queries} queries, lowest W ${r.minW.toFixed(4)}, alarm at δ ${MONITOR_DELTA}: ${r.alarmAt[String(MONITOR_DELTA)] ?? 'none'}\n`);
};

for (const k of privateLayers) {
  const victim = await Victim.create(await splitModel(model, { privateLayers: k }));
  const orders: [string, Float32Array][] = [['natural', test.images]];
  for (let s = 1; s <= shuffles; s++) orders.push([`shuffled-${s}`, reorder(test.images, permutation(test.count, s))]);
  for (const [name, images] of orders) {
    for (const len of lengths) {
      for (let o = 0; o + len <= test.count; o += len) record(k, `honest ${name} [${o}, ${o + len})`, 'honest', await trace(victim, images.subarray(o * PIXELS, (o + len) * PIXELS)));
    }
  }
  record(k, 'attack-natural', 'attack', await trace(victim, attackerImages.subarray(0, Math.min(attackQueries, 10_000) * PIXELS)));
  const seeds = attackerImages.subarray(0, 150 * PIXELS);
  record(k, 'attack-jacobian λ 0.1', 'attack', await trace(victim, await augmented(victim, seeds, attackQueries, 'jacobian')));
  record(k, 'attack-random λ 0.1', 'attack', await trace(victim, await augmented(victim, seeds, attackQueries, 'random')));
}

// The tables: per split, the false-alarm rate at each δ and the queries until detection.
const lines: string[] = [`| split (private layers) | streams | ${DELTAS.map((d) => `δ ${d}`).join(' | ')} |`, `| --- | --- | ${DELTAS.map(() => '---').join(' | ')} |`];
for (const k of privateLayers) {
  for (const len of lengths) {
    const hs = results.filter((r) => r.split === k && r.kind === 'honest' && r.queries === len);
    lines.push(`| ${k} | honest, ${hs.length} streams of ${len}: false alarms | ${DELTAS.map((d) => `${hs.filter((r) => r.alarmAt[String(d)] !== null).length}/${hs.length}`).join(' | ')} |`);
  }
  for (const r of results.filter((x) => x.split === k && x.kind === 'attack')) {
    lines.push(`| ${k} | ${r.stream} (${r.queries} queries): alarm at query | ${DELTAS.map((d) => r.alarmAt[String(d)] ?? 'none').join(' | ')} |`);
  }
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'protection-monitor.json'), JSON.stringify({ model: values.model, deltas: DELTAS, results }, null, 2) + '\n');
writeFileSync(join(out, 'protection-monitor.md'), lines.join('\n') + '\n');
process.stdout.write(lines.join('\n') + `\n\nwrote ${join(out, 'protection-monitor.json')} and protection-monitor.md\n`);
