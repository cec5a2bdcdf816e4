import { cpus, loadavg, totalmem, platform as osPlatform, release } from 'node:os';
import { readFileSync } from 'node:fs';
import type { ModelProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { GraphView } from '../onnx/graph.ts';
import { randomFeeds, type TensorData } from '../onnx/ort.ts';
import { checkedSplits, listCuts } from '../split/cuts.ts';
import { inspectModel } from '../split/inspect.ts';
import { extractAt, type SplitResult } from '../split/extract.ts';
import { getEngine } from '../enclave/engines/index.ts';
import type { EngineSession } from '../enclave/engines/types.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { chooseIntraOpThreads, isOrtThreadCount, MAX_ORT_THREADS } from '../enclave/engines/threads.ts';
import { MAX_FRAME_SIZE } from '../enclave-protocol/frame.ts';
import { startBenchEnclave, type BenchEnclave } from './enclave-adapter.ts';
import { compareOutputs, largestActivationBytes, PublicModel, weightBytes } from './measure.ts';
import { ProgressBar } from './progress.ts';
import { checkFeeds } from '../runtime/session.ts';
import { nowMs, summarize } from '../report/stats.ts';
import { evaluateTargets } from './targets.ts';
import { teeOf } from '../report/bench-report.ts';
import type { BenchReport, SplitMeasurement, ThroughputRow } from '../report/types.ts';

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Layers in the enclave to measure; undefined = every k from 0 to the layer count. */
  splits?: number[];
  /** @defaultValue 30 */
  repeat?: number;
  /** @defaultValue 5 */
  warmup?: number;
  /** @defaultValue 1 */
  batch?: number;
  /**
   * Batch sizes of the throughput sweep (samples/s, native and enclave, per split); empty: none.
   * @defaultValue []
   */
  throughputBatches?: number[];
  /** First calls after ≥ 10 ms idle, per split, for the cold figures. @defaultValue min(repeat, 10) */
  cold?: number;
  /** The enclave's engine. @defaultValue 'ort' */
  engine?: string;
  /**
   * onnxruntime intra-op threads of each split's enclave and of both in-process baselines (the
   * same for all three, so the comparison stays fair): a number, or `'auto'` — by the tail's
   * FLOPs per call ({@link chooseIntraOpThreads}, the crossover in docs/results/ort-threads.md).
   * @defaultValue 'auto'
   */
  ortThreads?: number | 'auto';
  /** Fixed inputs (e.g. from --input x.npy); default: seeded random inputs at `batch`. */
  feeds?: Record<string, TensorData>;
  /** The exact command line, for the report. */
  command?: string;
  /** Shown in the report. */
  modelName?: string;
  /** Set to true (e.g. on SIGINT) to stop the sweep; enclaves are shut down and it throws BENCH_INTERRUPTED. */
  signal?: AbortSignal;
  /** Progress output; default stderr. */
  progress?: (s: string) => void;
}

/** The per-call times (ms) of one split, as measured by {@link runBench}. */
export type SplitTimes = Record<'head' | 'native' | 'public' | 'enclave' | 'compute' | 'boundary', number[]> & { nativeCold?: number[]; enclaveCold?: number[] };

/** Idle time before a cold call: ≥ 10 ms (DESIGN.md), long enough for the process to sleep. */
export const COLD_IDLE_MS = 12;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Prepared {
  k: number;
  split: SplitResult | null;
  head: PublicModel | null;
  tailPublic: EngineSession | null;
  native: EngineSession | null;
  enclave: BenchEnclave | null;
  cutFeeds: Record<string, TensorData>;
  times: SplitTimes;
  /** onnxruntime intra-op threads of its enclave and baselines (0 for k = 0). */
  threads: number;
  tailWeightBytes: number;
  activationBytes: number;
  throughput?: ThroughputRow[];
}


function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.versions.node };
  for (const p of ['onnxruntime-node', 'onnxruntime-web']) {
    try {
      v[p] = JSON.parse(readFileSync(new URL(`../../node_modules/${p}/package.json`, import.meta.url), 'utf8')).version;
    } catch { /* not installed */ }
  }
  return v;
}

/**
 * The paper's evaluation for one model: for every split k (k = layers in the enclave, 0 = all
 * public) build the bundle, start the enclave, and measure head, native tail, public tail and
 * enclave round trip, plus setup phases, memory and correctness (docs/bench.md). Two methods:
 * **steady** — after warm-up, `repeat` back-to-back calls of each (the stream a user with many
 * inputs sees: `t_native`, `t_enclave`, …); **cold** — `cold` single calls each after
 * {@link COLD_IDLE_MS} idle (`t_native_cold`, `t_enclave_cold`: what the paper's one inference per
 * process saw, without its enclave setup). Optionally a throughput sweep over batch sizes.
 * Nothing is written here: see `writeReport`.
 */
export async function runBench(model: ModelProto, options: BenchOptions = {}): Promise<BenchReport> {
  const started = nowMs();
  const loadStart = loadavg();
  const startedAt = new Date().toISOString();
  const repeat = options.repeat ?? 30;
  const warmup = options.warmup ?? 5;
  const batch = options.batch ?? 1;
  const cold = options.cold ?? Math.min(repeat, 10);
  const sweep = options.throughputBatches ?? [];
  const engineName = options.engine ?? 'ort';
  const engine = getEngine(engineName);
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  const L = list.layers.length;
  // Per layer params and FLOPs (inspect's table): the enclave's part of split k is the last k rows.
  const layerRows = inspectModel(view).layers;
  const privateSum = (k: number, f: (r: (typeof layerRows)[number]) => number) => layerRows.slice(L - k).reduce((a, r) => a + f(r), 0);
  const ks = checkedSplits(list, options.splits, 'BENCH_SPLITS', 'run bench');
  const feeds = options.feeds ?? randomFeeds(view.inputs, batch, seededRandom(1234));
  checkFeeds(view.inputs, feeds);
  ortThreadsOf(options.ortThreads, 0, batch); // a bad value fails here, before anything starts
  const aborted = () => options.signal?.aborted === true;
  const full = await PublicModel.create(model);
  const prepared: Prepared[] = [];
  const fullTimes: number[] = [];
  const bar = new ProgressBar(2 * ks.length + 1, options.progress);
  let step = 0;
  try {
    const want = await full.run(feeds);
    for (const k of ks) {
      if (aborted()) throw interrupted();
      bar.update(step++, `preparing k=${k}`);
      if (k === 0) {
        prepared.push({ k, split: null, head: null, tailPublic: null, native: null, enclave: null, cutFeeds: {}, times: emptyTimes(), threads: 0, tailWeightBytes: 0, activationBytes: 0 });
        continue;
      }
      const cut = list.cuts.find((c) => c.privateLayers === k)!;
      const split = extractAt(view, cut);
      const head = split.head ? await PublicModel.create(split.head) : null;
      const headOut = head ? await head.run(feeds) : {};
      const cutFeeds = Object.fromEntries(split.cutTensors.map((t) => [t.name, headOut[t.name] ?? feeds[t.name]!]));
      const tailBytes = encodeModel(split.tail);
      const threads = ortThreadsOf(options.ortThreads, privateSum(k, (r) => r.flops), batch);
      const p: Prepared = {
        k, split, head, cutFeeds, times: emptyTimes(), threads,
        // The public runtime is onnxruntime-node, through the same wrapper as the engines, so
        // with --engine ort the CPU impact compares like with like; the same threads as the enclave.
        tailPublic: await getEngine('ort').create(tailBytes, { intraOpThreads: threads }),
        native: await engine.create(tailBytes, { intraOpThreads: threads }),
        enclave: null,
        tailWeightBytes: weightBytes(split.tail),
        activationBytes: largestActivationBytes(view, cut.boundary, view.order.length, batch),
      };
      prepared.push(p);
      p.enclave = await startBenchEnclave(split, engineName, { ortThreads: threads });
    }
    // The all-public reference, back to back after its warm-up: it is also the k = 0 row.
    bar.update(step++, 'measuring the unsplit model');
    for (let r = 0; r < warmup + repeat; r++) {
      const tf0 = nowMs();
      await full.run(feeds);
      if (r >= warmup) fullTimes.push(nowMs() - tf0);
    }
    for (const p of prepared) {
      if (p.k === 0) continue;
      if (aborted()) throw interrupted();
      bar.update(step++, `measuring k=${p.k}`);
      await measureSplit(p, feeds, warmup, repeat, cold, aborted);
      if (sweep.length > 0) p.throughput = await measureThroughput(p, view, sweep, repeat);
    }
    bar.done();
    const t_full = summarize(fullTimes);
    const splits: SplitMeasurement[] = [];
    let teePlatform: string | undefined;
    for (const p of prepared) {
      const zero = summarize([0]);
      if (p.k === 0) {
        const h = t_full;
        splits.push({
          k: 0, firstPrivateLayer: null, cutTensors: [], t_head: h, t_native: zero, t_tail_public: zero, t_enclave: zero, t_enclave_compute: zero, t_boundary: zero,
          setup: { spawn: 0, attest_provision: 0, load_decrypt: 0, session_create: 0, ready_total: 0, teardown: 0 },
          enclave_peak_rss_bytes: 0, tail_weight_bytes: 0, largest_activation_bytes: 0, sealed_tail_bytes: 0, private_params: 0, private_flops: 0, max_abs_diff: 0, labels_equal: true,
          cpu_impact: NaN, tee_impact: NaN, end_to_end: h.median / t_full.median,
        });
        continue;
      }
      const got = await p.enclave!.forward(p.cutFeeds);
      const outputs: Record<string, TensorData> = { ...got.outputs };
      if (p.split!.headOutputs.length > 0 && p.head) Object.assign(outputs, await p.head.run(feeds));
      const cmp = compareOutputs(outputs, want);
      const status = await p.enclave!.status();
      const { setup, sealedTailBytes } = p.enclave!;
      teePlatform ??= p.enclave!.platform;
      const teardown = await p.enclave!.close();
      p.enclave = null;
      splits.push({
        k: p.k, firstPrivateLayer: p.split!.cut.firstPrivateLayer, cutTensors: p.split!.cut.tensors,
        ...splitTimes(p.head ? p.times : { ...p.times, head: p.times.head.map(() => 0) }, t_full.median),
        ...(p.throughput ? { throughput: p.throughput } : {}),
        setup: { ...setup, teardown }, ort_threads: p.threads,
        enclave_peak_rss_bytes: status.peakRssBytes, tail_weight_bytes: p.tailWeightBytes, largest_activation_bytes: p.activationBytes,
        sealed_tail_bytes: sealedTailBytes, private_params: privateSum(p.k, (r) => r.paramCount), private_flops: privateSum(p.k, (r) => r.flops),
        max_abs_diff: cmp.maxAbsDiff, labels_equal: cmp.labelsEqual,
      });
    }
    return {
      model: options.modelName ?? 'model', command: options.command ?? '', startedAt, durationMs: nowMs() - started,
      machine: {
        cpus: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryBytes: totalmem(), platform: `${osPlatform()} ${release()}`, node: process.version,
        loadAverage: { start: loadStart, end: loadavg() },
      },
      tee: teeOf(teePlatform ?? 'sim'),
      versions: versions(), options: { batch, repeat, warmup, engine: engineName, splits: ks, method: 'steady', cold, throughputBatches: sweep }, layers: list.layers.map((l) => l.name),
      t_full, splits, targets: evaluateTargets(splits, t_full.median, batch, engineName),
    };
  } finally {
    bar.done();
    await full.release();
    for (const p of prepared) {
      await p.head?.release();
      await p.tailPublic?.release();
      await p.native?.release();
      if (p.enclave) await p.enclave.close().catch(() => undefined);
    }
  }
}

/**
 * One split's statistics and ratios (docs/bench.md): CPU impact = t_native / t_tail_public,
 * TEE impact = t_enclave / t_native, end to end = (t_head + t_enclave) / t_full, on medians.
 *
 * @example
 * ```ts
 * splitTimes({ head: [1], native: [2], public: [4], enclave: [6], compute: [2], boundary: [4] }, 14).tee_impact; // 3
 * ```
 */
export function splitTimes(times: SplitTimes, tFullMedian: number): Pick<SplitMeasurement, 't_head' | 't_native' | 't_tail_public' | 't_enclave' | 't_enclave_compute' | 't_boundary' | 'cpu_impact' | 'tee_impact' | 'end_to_end' | 't_native_cold' | 't_enclave_cold'> {
  const s = {
    t_head: summarize(times.head), t_native: summarize(times.native), t_tail_public: summarize(times.public),
    t_enclave: summarize(times.enclave), t_enclave_compute: summarize(times.compute), t_boundary: summarize(times.boundary),
  };
  return {
    ...s,
    ...(times.nativeCold?.length ? { t_native_cold: summarize(times.nativeCold) } : {}),
    ...(times.enclaveCold?.length ? { t_enclave_cold: summarize(times.enclaveCold) } : {}),
    cpu_impact: s.t_native.median / s.t_tail_public.median,
    tee_impact: s.t_enclave.median / s.t_native.median,
    end_to_end: (s.t_head.median + s.t_enclave.median) / tFullMedian,
  };
}

/**
 * The intra-op threads for one split: as given, or by the tail's FLOPs per call. Validated here,
 * so a bad value fails before any enclave starts.
 */
export function ortThreadsOf(given: number | 'auto' | undefined, flopsPerSample: number, batch: number): number {
  if (given === undefined || given === 'auto') return chooseIntraOpThreads({ flops: flopsPerSample, batch });
  if (!isOrtThreadCount(given)) throw new EnclaveNnError('USAGE', `Cannot run bench: --ort-threads must be 'auto' or an integer in 1..${MAX_ORT_THREADS}, got ${given}`);
  return given;
}

function emptyTimes(): SplitTimes {
  return { head: [], native: [], public: [], enclave: [], compute: [], boundary: [] };
}

function interrupted(): EnclaveNnError {
  return new EnclaveNnError('BENCH_INTERRUPTED', 'Cannot finish bench: interrupted; enclaves shut down, no report written', { exitCode: 1 });
}

/**
 * Steady: `warmup` calls of each, then `repeat` back-to-back calls of the head, the native tail,
 * the public tail (alternating which of those two streams goes first by k, so neither always
 * runs on the other's warm caches) and the enclave. Cold: `cold` single calls of the native tail
 * and of the enclave, each after {@link COLD_IDLE_MS} idle.
 */
async function measureSplit(p: Prepared, feeds: Record<string, TensorData>, warmup: number, repeat: number, cold: number, aborted: () => boolean): Promise<void> {
  const stream = async (n: number, f: () => Promise<unknown>, out?: number[]) => {
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await f();
      out?.push(nowMs() - t0);
    }
  };
  const head = () => (p.head ? p.head.run(feeds) : Promise.resolve({}));
  const native = () => p.native!.run(p.cutFeeds);
  const pub = () => p.tailPublic!.run(p.cutFeeds);
  const enclave = () => p.enclave!.forward(p.cutFeeds);
  for (const f of [head, native, pub, enclave]) await stream(warmup, f);
  await stream(repeat, head, p.times.head);
  const tails: Array<[() => Promise<unknown>, number[]]> = [[native, p.times.native], [pub, p.times.public]];
  for (const [f, out] of p.k % 2 === 0 ? tails : tails.reverse()) await stream(repeat, f, out);
  for (let i = 0; i < repeat; i++) {
    if (aborted()) throw interrupted();
    const t0 = nowMs();
    const res = await enclave();
    const t = nowMs() - t0;
    p.times.enclave.push(t);
    p.times.compute.push(res.computeMs);
    p.times.boundary.push(t - res.computeMs);
  }
  p.times.nativeCold = [];
  p.times.enclaveCold = [];
  for (let i = 0; i < cold; i++) {
    if (aborted()) throw interrupted();
    await sleep(COLD_IDLE_MS);
    await stream(1, native, p.times.nativeCold);
    await sleep(COLD_IDLE_MS);
    await stream(1, enclave, p.times.enclaveCold);
  }
}

/**
 * Samples per second at each batch size, native and through the enclave: one warm-up call, then
 * max(3, ⌈repeat / 4⌉) back-to-back calls each; the cut tensors come from the head at that batch.
 */
async function measureThroughput(p: Prepared, view: GraphView, batches: number[], repeat: number): Promise<ThroughputRow[]> {
  const n = Math.max(3, Math.ceil(repeat / 4));
  const rows: ThroughputRow[] = [];
  for (const b of batches) {
    const feeds = randomFeeds(view.inputs, b, seededRandom(4321 + b));
    const headOut = p.head ? await p.head.run(feeds) : {};
    const cut = Object.fromEntries(p.split!.cutTensors.map((t) => [t.name, headOut[t.name] ?? feeds[t.name]!]));
    const time = async (f: () => Promise<unknown>) => {
      await f();
      const ts: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = nowMs();
        await f();
        ts.push(nowMs() - t0);
      }
      return (b * 1000) / summarize(ts).median;
    };
    const native = await time(() => p.native!.run(cut));
    const bytes = Object.values(cut).reduce((a, t) => a + t.data.byteLength, 0);
    // A batch whose cut tensors do not fit one frame is not one FORWARD (the Session splits it).
    const enclave = bytes + 65_536 > MAX_FRAME_SIZE ? NaN : await time(() => p.enclave!.forward(cut));
    rows.push({ batch: b, native_samples_per_s: native, enclave_samples_per_s: enclave });
  }
  return rows;
}
