/**
 * The extraction monitor (docs/license-protocol.md §5.2.1, docs/threat-model.md): PRADA — Juuti,
 * Szyller, Marchal, Asokan, "PRADA: Protecting against DNN Model Stealing Attacks", EuroS&P
 * 2019 — run inside the enclave over the cut tensors it receives. Per predicted class it keeps
 * a growing set of past queries; each new query's minimum L2 distance to its class's set joins
 * a pool of distances; honest queries give roughly normal minimum distances, an attacker's
 * synthetic queries (small steps around a few seeds) do not. Every 10 queries the pooled
 * distances (of classes with ≥ 10) lose their 3σ outliers; once more than 100 remain, their
 * Shapiro–Wilk W is compared with δ: W < δ is an alarm, latched. As the authors' implementation,
 * a query joins its class's set only when its distance exceeds the class threshold
 * T_c = max(T_c, mean − std of the set's distances).
 *
 * Bounded, unlike the paper's unbounded sets: a query is one vector of {@link MONITOR_DIMS}
 * numbers (the cut tensors themselves when they have at most that many elements, else a
 * count sketch of them, Charikar et al. 2002, which keeps L2 distances in expectation); the
 * sets hold at most {@link MONITOR_POINTS} vectors in all (per class a share, the oldest
 * replaced first), the pool the latest {@link MONITOR_WINDOW} distances. State ≤ ~1.1 MiB.
 *
 * Trusted code: nothing here leaves the enclave but its `MonitorVerdict` (in the signed usage
 * report) — the state is sealed with the license state, never written or logged in the clear.
 */
import type { MonitorVerdict } from '../../license-format/types.ts';
import type { TensorData } from '../../onnx/ort.ts';
import { shapiroWilkW } from './monitor-shapiro-wilk.ts';

/** Parameters of the detector; the defaults are PRADA's, δ chosen on honest streams (docs/results/protection-monitor.md). */
export interface MonitorOptions {
  /** Alarm threshold on W. @defaultValue {@link MONITOR_DELTA} */
  delta?: number;
  /** Pooled distances needed, after the 3σ outliers are dropped, before a test (the authors' implementation: more than 100). @defaultValue 100 */
  minDistances?: number;
  /**
   * Measurement only — the enclave never sets it (scripts/protection-monitor.ts): called after
   * every test with the query count, the unrounded W and the distances tested, so that one pass
   * over a stream gives the alarm query of every δ (the first test with W < δ).
   */
  onTest?: (queries: number, w: number, n: number) => void;
}

/** δ: W below it is an alarm. Measured (docs/results/protection-monitor.md): the largest δ of the grid with no false alarm on any honest stream of the MNIST CNN (splits 1, 3, 8) and the Rotten Tomatoes sepCNN (splits 3, 6). */
export const MONITOR_DELTA = 0.85;
/** Numbers per query vector. */
export const MONITOR_DIMS = 128;
/** Query vectors kept over all classes. */
export const MONITOR_POINTS = 2048;
/** Distances kept for the test (the latest). */
export const MONITOR_WINDOW = 2000;
/** A test runs every this many queries (as the authors' implementation). */
const TEST_EVERY = 10;
/** A class's distances join the pool once it has this many (as the authors' implementation). */
const MIN_PER_CLASS = 10;
/** Pooled distances further than this many standard deviations from the mean are dropped (as the authors' implementation). */
const OUTLIER_SIGMAS = 3;
const STATE_VERSION = 1;
const MICRO = 1_000_000;

interface ClassSet {
  /** Distances this class contributed, ever. */
  count: number;
  /** Retained vectors, `cap` × DIMS; the first `size` are set. */
  points: Float32Array;
  size: number;
  /** Next slot to replace once full (the oldest). */
  next: number;
  /** Threshold T_c and the running sums of the set's distances (every addition ever, as the paper's unbounded set). */
  threshold: number;
  added: number;
  sum: number;
  sumSq: number;
}

/**
 * One enclave's detector.
 *
 * @example
 * ```ts
 * const m = new ExtractionMonitor();
 * m.observe(feeds, rawOutputs);   // in FORWARD, before the output policy
 * m.verdict();                    // → the usage report
 * const sealed = m.exportState(); // → the sealed license state
 * ```
 */
export class ExtractionMonitor {
  readonly #delta: number;
  readonly #minDistances: number;
  readonly #onTest: MonitorOptions['onTest'];
  #classes = 0;
  #cap = 0;
  readonly #sets = new Map<number, ClassSet>();
  #queries = 0;
  #alarmAt = 0;
  #n = 0;
  #w = MICRO;
  #minW = MICRO;
  /** The pool ring: the latest distances and the class of each. */
  readonly #dist = new Float32Array(MONITOR_WINDOW);
  readonly #distClass = new Uint32Array(MONITOR_WINDOW);
  #distSize = 0;
  #distNext = 0;
  readonly #v = new Float64Array(MONITOR_DIMS);

  constructor(o: MonitorOptions = {}) {
    this.#delta = o.delta ?? MONITOR_DELTA;
    this.#minDistances = o.minDistances ?? 100;
    this.#onTest = o.onTest;
    if (!(this.#delta > 0 && this.#delta < 1) || !Number.isSafeInteger(this.#minDistances) || this.#minDistances < 3) throw new RangeError('monitor delta must be in (0, 1) and minDistances an integer ≥ 3');
  }

  /**
   * Observes one FORWARD: every sample of `feeds` (the cut tensors, batch first) with the class
   * the raw `outputs` predict for it (argmax of the first [batch, C ≥ 2] output; one class for
   * other outputs). Call before the output policy, which may remove the probabilities.
   */
  observe(feeds: Record<string, TensorData>, outputs: Record<string, TensorData>): void {
    const names = Object.keys(feeds).sort();
    const batch = feeds[names[0]!]?.dims[0] ?? 0;
    const per = names.map((k) => feeds[k]!).filter((t) => t.dims.length > 0 && t.dims[0] === batch);
    const scores = Object.values(outputs).find((t) => t.dims.length === 2 && t.dims[0] === batch && t.dims[1]! >= 2 && !(t.data instanceof BigInt64Array));
    const classes = scores ? scores.dims[1]! : 1;
    if (this.#classes === 0) { this.#classes = classes; this.#cap = Math.max(2, Math.floor(MONITOR_POINTS / classes)); }
    for (let b = 0; b < batch; b++) {
      this.#vector(per, b, batch);
      this.#query(scores ? argmaxRow(scores.data as ArrayLike<number>, b, classes) % this.#classes : 0);
    }
  }

  /** The statistics for the usage report. */
  verdict(): MonitorVerdict {
    return { alarm: this.#alarmAt > 0 ? 1 : 0, alarmAt: this.#alarmAt, queries: this.#queries, n: this.#n, w: this.#w, minW: this.#minW };
  }

  /** The query vector of sample `b`: the concatenated cut tensors, or their count sketch. */
  #vector(tensors: TensorData[], b: number, batch: number): void {
    const v = this.#v;
    v.fill(0);
    let j = 0;
    let total = 0;
    for (const t of tensors) total += t.data.length / batch;
    const sketch = total > MONITOR_DIMS;
    for (const t of tensors) {
      const len = t.data.length / batch;
      const d = t.data as ArrayLike<number | bigint>;
      for (let i = b * len; i < (b + 1) * len; i++, j++) {
        const x = Number(d[i]!);
        if (!Number.isFinite(x)) continue;
        if (!sketch) { v[j] = x; continue; }
        const h = mix32(j);
        v[h % MONITOR_DIMS] += (h & 0x80000000) !== 0 ? -x : x;
      }
    }
  }

  /** One PRADA step for the current vector, predicted class `c`. */
  #query(c: number): void {
    this.#queries++;
    let set = this.#sets.get(c);
    if (!set) {
      set = { count: 0, points: new Float32Array(this.#cap * MONITOR_DIMS), size: 0, next: 0, threshold: 0, added: 1, sum: 0, sumSq: 0 };
      this.#sets.set(c, set);
      this.#add(set);
    } else {
      const d = Math.sqrt(minSquaredDistance(this.#v, set.points, set.size));
      set.count++;
      this.#dist[this.#distNext] = d;
      this.#distClass[this.#distNext] = c;
      this.#distNext = (this.#distNext + 1) % MONITOR_WINDOW;
      this.#distSize = Math.min(MONITOR_WINDOW, this.#distSize + 1);
      if (d > set.threshold) {
        this.#add(set);
        set.added++; set.sum += d; set.sumSq += d * d;
        const mean = set.sum / set.added;
        const std = Math.sqrt(Math.max(0, set.sumSq / set.added - mean * mean));
        set.threshold = Math.max(set.threshold, mean - std);
      }
    }
    // As the authors' implementation: a test before every 10th query (0, 10, 20, …).
    if ((this.#queries - 1) % TEST_EVERY === 0) this.#test();
  }

  #add(set: ClassSet): void {
    let slot = set.size;
    if (set.size < this.#cap) set.size++;
    else { slot = set.next; set.next = (set.next + 1) % this.#cap; }
    set.points.set(this.#v, slot * MONITOR_DIMS);
  }

  #test(): void {
    const pool: number[] = [];
    for (let i = 0; i < this.#distSize; i++) if (this.#sets.get(this.#distClass[i]!)!.count >= MIN_PER_CLASS) pool.push(this.#dist[i]!);
    if (pool.length <= this.#minDistances) return;
    let mean = 0;
    for (const d of pool) mean += d;
    mean /= pool.length;
    let v = 0;
    for (const d of pool) v += (d - mean) ** 2;
    const limit = OUTLIER_SIGMAS * Math.sqrt(v / pool.length);
    const kept = pool.filter((d) => Math.abs(d - mean) < limit);
    // As the authors' implementation: more than minDistances distances must remain once the outliers are dropped.
    if (kept.length <= this.#minDistances) return;
    const w = shapiroWilkW(kept);
    this.#n = kept.length;
    this.#w = Math.round(w * MICRO);
    this.#minW = Math.min(this.#minW, this.#w);
    if (w < this.#delta && this.#alarmAt === 0) this.#alarmAt = this.#queries;
    this.#onTest?.(this.#queries, w, kept.length);
  }

  /** The state to seal (contains query sketches: only ever hand it to the platform's sealing). */
  exportState(): Uint8Array {
    const sets = [...this.#sets.entries()];
    const size = 1 + 4 * 9 + 8 * 2 + this.#distSize * 8 + sets.reduce((n, [, s]) => n + 4 * 5 + 8 * 3 + s.size * MONITOR_DIMS * 4, 0);
    const w = new Writer(size);
    w.u8(STATE_VERSION).u32(Math.round(this.#delta * MICRO)).u32(this.#minDistances).u32(this.#classes).u32(this.#cap).u32(this.#distSize).u32(sets.length);
    w.f64(this.#queries).f64(this.#alarmAt).u32(this.#n).u32(this.#w).u32(this.#minW);
    // The ring oldest first, so that a restored monitor continues it.
    for (let i = 0; i < this.#distSize; i++) {
      const k = (this.#distNext - this.#distSize + i + MONITOR_WINDOW) % MONITOR_WINDOW;
      w.f32(this.#dist[k]!).u32(this.#distClass[k]!);
    }
    for (const [c, s] of sets) {
      w.u32(c).u32(s.count).u32(s.size).u32(s.next).u32(s.added).f64(s.threshold).f64(s.sum).f64(s.sumSq);
      for (let i = 0; i < s.size * MONITOR_DIMS; i++) w.f32(s.points[i]!);
    }
    return w.done();
  }

  /** Restores {@link exportState} bytes (after the platform unsealed them); throws TypeError when they are malformed. */
  static fromState(bytes: Uint8Array): ExtractionMonitor {
    const r = new Reader(bytes);
    if (r.u8() !== STATE_VERSION) throw new TypeError('not a version-1 monitor state');
    const m = new ExtractionMonitor({ delta: r.u32() / MICRO, minDistances: r.u32() });
    m.#classes = r.u32();
    m.#cap = r.u32();
    const distSize = r.u32();
    const sets = r.u32();
    if (m.#cap < 1 || m.#cap > MONITOR_POINTS || distSize > MONITOR_WINDOW || sets > Math.max(m.#classes, 1)) throw new TypeError('monitor state sizes out of range');
    m.#queries = r.f64();
    m.#alarmAt = r.f64();
    m.#n = r.u32();
    m.#w = r.u32();
    m.#minW = r.u32();
    if (m.#w > MICRO || m.#minW > m.#w || m.#alarmAt > m.#queries) throw new TypeError('monitor state statistics out of range');
    for (let i = 0; i < distSize; i++) { m.#dist[i] = r.f32(); m.#distClass[i] = r.u32(); }
    m.#distSize = distSize;
    m.#distNext = distSize % MONITOR_WINDOW;
    for (let k = 0; k < sets; k++) {
      const c = r.u32();
      const s: ClassSet = { count: r.u32(), points: new Float32Array(m.#cap * MONITOR_DIMS), size: r.u32(), next: r.u32(), added: r.u32(), threshold: r.f64(), sum: r.f64(), sumSq: r.f64() };
      if (s.size > m.#cap || s.next >= m.#cap) throw new TypeError('monitor state set size out of range');
      for (let i = 0; i < s.size * MONITOR_DIMS; i++) s.points[i] = r.f32();
      m.#sets.set(c, s);
    }
    r.end();
    return m;
  }
}

function argmaxRow(data: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  const o = row * classes;
  for (let c = 1; c < classes; c++) if (data[o + c]! > data[o + best]! || Number.isNaN(data[o + best]!)) best = c;
  return best;
}

function minSquaredDistance(v: Float64Array, points: Float32Array, size: number): number {
  let best = Infinity;
  for (let p = 0; p < size; p++) {
    const o = p * MONITOR_DIMS;
    let s = 0;
    for (let i = 0; i < MONITOR_DIMS && s < best; i++) { const d = v[i]! - points[o + i]!; s += d * d; }
    if (s < best) best = s;
  }
  return best;
}

/** MurmurHash3's 32-bit finaliser: the sketch's bucket (low bits) and sign (top bit) of coordinate j. */
function mix32(j: number): number {
  let h = (j + 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

class Writer {
  readonly #b: Uint8Array;
  readonly #v: DataView;
  #o = 0;
  constructor(size: number) { this.#b = new Uint8Array(size); this.#v = new DataView(this.#b.buffer); }
  u8(x: number): this { this.#v.setUint8(this.#o, x); this.#o += 1; return this; }
  u32(x: number): this { this.#v.setUint32(this.#o, x); this.#o += 4; return this; }
  f32(x: number): this { this.#v.setFloat32(this.#o, x); this.#o += 4; return this; }
  f64(x: number): this { this.#v.setFloat64(this.#o, x); this.#o += 8; return this; }
  done(): Uint8Array { if (this.#o !== this.#b.byteLength) throw new Error('monitor state size mismatch'); return this.#b; }
}

class Reader {
  readonly #v: DataView;
  #o = 0;
  constructor(b: Uint8Array) { this.#v = new DataView(b.buffer, b.byteOffset, b.byteLength); }
  #take(n: number): number { if (this.#o + n > this.#v.byteLength) throw new TypeError('monitor state truncated'); const o = this.#o; this.#o += n; return o; }
  u8(): number { return this.#v.getUint8(this.#take(1)); }
  u32(): number { return this.#v.getUint32(this.#take(4)); }
  f32(): number { return this.#v.getFloat32(this.#take(4)); }
  f64(): number { const x = this.#v.getFloat64(this.#take(8)); if (!Number.isFinite(x)) throw new TypeError('monitor state has a non-finite number'); return x; }
  end(): void { if (this.#o !== this.#v.byteLength) throw new TypeError('monitor state has trailing bytes'); }
}
