import { cpus, loadavg, totalmem, platform as osPlatform, release } from 'node:os';
import { readFileSync } from 'node:fs';
import type { ModelProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { GraphView } from '../onnx/graph.ts';
import { randomFeeds, type TensorData } from '../onnx/ort.ts';
import { listCuts } from '../split/cuts.ts';
import { inspectModel } from '../split/inspect.ts';
import { extractAt, type SplitResult } from '../split/extract.ts';
import { getEngine } from '../enclave/engines/index.ts';
import type { EngineSession } from '../enclave/engines/types.ts';
import { seededRandom } from '../util/seeded-prng.ts';
import { startBenchEnclave, type BenchEnclave } from './enclave-adapter.ts';
import { compareOutputs, largestActivationBytes, PublicModel, weightBytes } from './measure.ts';
import { ProgressBar } from './progress.ts';
import { checkFeeds } from '../runtime/session.ts';
import { nowMs, summarize } from '../report/stats.ts';
import { evaluateTargets } from './targets.ts';
import { teeOf } from '../report/bench-report.ts';
import type { BenchReport, SplitMeasurement } from '../report/types.ts';

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
  /** The enclave's engine. @defaultValue 'ort' */
  engine?: string;
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

/** The per-round times (ms) of one split, as measured by {@link runBench}. */
export type SplitTimes = Record<'head' | 'native' | 'public' | 'enclave' | 'compute' | 'boundary', number[]>;

interface Prepared {
  k: number;
  split: SplitResult | null;
  head: PublicModel | null;
  tailPublic: EngineSession | null;
  native: EngineSession | null;
  enclave: BenchEnclave | null;
  cutFeeds: Record<string, TensorData>;
  times: SplitTimes;
  tailWeightBytes: number;
  activationBytes: number;
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
 * enclave round trip, interleaved round-robin over the repeats after warm-up, plus setup phases,
 * memory and correctness. Nothing is written here: see `writeReport`.
 */
export async function runBench(model: ModelProto, options: BenchOptions = {}): Promise<BenchReport> {
  const started = nowMs();
  const loadStart = loadavg();
  const startedAt = new Date().toISOString();
  const repeat = options.repeat ?? 30;
  const warmup = options.warmup ?? 5;
  const batch = options.batch ?? 1;
  const engineName = options.engine ?? 'ort';
  const engine = getEngine(engineName);
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  const L = list.layers.length;
  // Per layer params and FLOPs (inspect's table): the enclave's part of split k is the last k rows.
  const layerRows = inspectModel(view).layers;
  const privateSum = (k: number, f: (r: (typeof layerRows)[number]) => number) => layerRows.slice(L - k).reduce((a, r) => a + f(r), 0);
  const ks = options.splits ?? Array.from({ length: L + 1 }, (_, i) => i);
  for (const k of ks) if (!Number.isInteger(k) || k < 0 || k > L) throw new EnclaveNnError('BENCH_SPLITS', `Cannot run bench: split ${k} is out of range; valid: 0..${L}`);
  const feeds = options.feeds ?? randomFeeds(view.inputs, batch, seededRandom(1234));
  checkFeeds(view.inputs, feeds);
  const aborted = () => options.signal?.aborted === true;
  const full = await PublicModel.create(model);
  const prepared: Prepared[] = [];
  const fullTimes: number[] = [];
  const bar = new ProgressBar(ks.length + (warmup + repeat) * ks.length, options.progress);
  let step = 0;
  try {
    const want = await full.run(feeds);
    for (const k of ks) {
      if (aborted()) throw interrupted();
      bar.update(step++, `preparing k=${k}`);
      if (k === 0) {
        prepared.push({ k, split: null, head: null, tailPublic: null, native: null, enclave: null, cutFeeds: {}, times: emptyTimes(), tailWeightBytes: 0, activationBytes: 0 });
        continue;
      }
      const cut = list.cuts.find((c) => c.privateLayers === k)!;
      const split = extractAt(view, cut);
      const head = split.head ? await PublicModel.create(split.head) : null;
      const headOut = head ? await head.run(feeds) : {};
      const cutFeeds = Object.fromEntries(split.cutTensors.map((t) => [t.name, headOut[t.name] ?? feeds[t.name]!]));
      const tailBytes = encodeModel(split.tail);
      const p: Prepared = {
        k, split, head, cutFeeds, times: emptyTimes(),
        // The public runtime is onnxruntime-node, through the same wrapper as the engines, so
        // with --engine ort the CPU impact compares like with like.
        tailPublic: await getEngine('ort').create(tailBytes),
        native: await engine.create(tailBytes),
        enclave: null,
        tailWeightBytes: weightBytes(split.tail),
        activationBytes: largestActivationBytes(view, cut.boundary, view.order.length, batch),
      };
      prepared.push(p);
      p.enclave = await startBenchEnclave(split, engineName);
    }
    for (let r = 0; r < warmup + repeat; r++) {
      const measuring = r >= warmup;
      // The all-public reference, once per round: it is also the k = 0 row.
      const tf0 = nowMs();
      await full.run(feeds);
      if (measuring) fullTimes.push(nowMs() - tf0);
      for (const p of prepared) {
        if (aborted()) throw interrupted();
        bar.update(step++, `${measuring ? 'repeat' : 'warm-up'} ${measuring ? r - warmup + 1 : r + 1}/${measuring ? repeat : warmup} k=${p.k}`);
        if (p.k === 0) continue;
        let t0 = nowMs();
        if (p.head) await p.head.run(feeds);
        const tHead = nowMs() - t0;
        // Native and public tails alternate who goes first, so caches warmed by one do not
        // favour the other on every round.
        let tNative = 0;
        let tPublic = 0;
        for (const which of r % 2 === 0 ? ['native', 'public'] : ['public', 'native']) {
          t0 = nowMs();
          await (which === 'native' ? p.native! : p.tailPublic!).run(p.cutFeeds);
          if (which === 'native') tNative = nowMs() - t0; else tPublic = nowMs() - t0;
        }
        t0 = nowMs();
        const res = await p.enclave!.forward(p.cutFeeds);
        const tEnclave = nowMs() - t0;
        if (measuring) {
          p.times.head.push(tHead);
          p.times.native.push(tNative);
          p.times.public.push(tPublic);
          p.times.enclave.push(tEnclave);
          p.times.compute.push(res.computeMs);
          p.times.boundary.push(tEnclave - res.computeMs);
        }
      }
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
        setup: { ...setup, teardown },
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
      versions: versions(), options: { batch, repeat, warmup, engine: engineName, splits: ks }, layers: list.layers.map((l) => l.name),
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
export function splitTimes(times: SplitTimes, tFullMedian: number): Pick<SplitMeasurement, 't_head' | 't_native' | 't_tail_public' | 't_enclave' | 't_enclave_compute' | 't_boundary' | 'cpu_impact' | 'tee_impact' | 'end_to_end'> {
  const s = {
    t_head: summarize(times.head), t_native: summarize(times.native), t_tail_public: summarize(times.public),
    t_enclave: summarize(times.enclave), t_enclave_compute: summarize(times.compute), t_boundary: summarize(times.boundary),
  };
  return {
    ...s,
    cpu_impact: s.t_native.median / s.t_tail_public.median,
    tee_impact: s.t_enclave.median / s.t_native.median,
    end_to_end: (s.t_head.median + s.t_enclave.median) / tFullMedian,
  };
}

function emptyTimes(): SplitTimes {
  return { head: [], native: [], public: [], enclave: [], compute: [], boundary: [] };
}

function interrupted(): EnclaveNnError {
  return new EnclaveNnError('BENCH_INTERRUPTED', 'Cannot finish bench: interrupted; enclaves shut down, no report written', { exitCode: 1 });
}
