/**
 * The evaluator (docs/attack.md §4): it holds the model. For every split k it seals the tail
 * into a bundle, starts an enclave through the runtime's Session (INSECURE dev key path),
 * hands the attacker nothing but an {@link AttackSurface} — the bundle's public head and header
 * and a query function that returns only the enclave's outputs — and scores the substitutes on
 * the labelled test set: accuracy, fidelity to the victim, ratio. It attaches each split's cost
 * from a bench report and recommends a split.
 * @module
 */
import type { ModelProto } from 'onnx-buf';
import type { BenchReport } from '../report/types.ts';
import { bundleOfSplit } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { EnclaveNnError } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { GraphView } from '../onnx/graph.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { formatShape } from '../onnx/tensor-spec.ts';
import { Session, checkFeeds } from '../runtime/session.ts';
import { checkedSplits, extractAt, listCuts } from '../split/index.ts';
import { concatRows, rowCount, sliceFeeds } from './rows.ts';
import { architectureOf } from './skeleton.ts';
import { labelsOf } from './train.ts';
import { answerLabels, answerTargets, stealTail } from './attacker.ts';
import type { AnswerMode, AttackRow, AttackSurface, AttackerKind, Defence, DefenceResult, ProtectionReport, QueryFn, Recommendation, SplitProtection, StolenPrediction } from './types.ts';

/** Options of {@link evaluateProtection}. */
export interface EvaluateOptions {
  /** The attacker's unlabelled inputs (by model input name). */
  data: Record<string, TensorData>;
  /** The evaluator's labelled test set. */
  test: { inputs: Record<string, TensorData>; labels: Int32Array };
  /** Query budgets. @defaultValue [50, 500, 5000] */
  queries?: number[];
  /** Splits k to evaluate; undefined = every k from 0 to the layer count. */
  splits?: number[];
  /** @defaultValue 'label' */
  mode?: AnswerMode;
  /**
   * The defences to evaluate (docs/attack.md §4.1): each split is sealed once per defence, with
   * that output policy; the attacker trains on whatever the enclave answers. Default: `[mode]`
   * ('label' or 'prob').
   */
  defences?: Defence[];
  /** @defaultValue ['generic', 'architecture'] */
  attackers?: AttackerKind[];
  /** @defaultValue 1 */
  seed?: number;
  /** Several seeds (spread reported); overrides `seed`. */
  seeds?: number[];
  /** @defaultValue 10000 */
  trainPasses?: number;
  /** The epoch cap's floor (docs/attack.md §3.3). @defaultValue 1 */
  minEpochs?: number;
  /** Labels of `data`'s rows, for the `own-data` attacker (the no-query baseline; trained under the first defence only). */
  dataLabels?: Int32Array;
  /** A public pretrained TF.js model.json, for the `pretrained` attacker (run only where the whole model is private). */
  pretrained?: string;
  /** Where the queries come from, for the report. @defaultValue 'in-distribution' */
  querySource?: string;
  /** Receives each trained substitute as ONNX with the split's public head (`attack --save-substitutes`). */
  saveSubstitute?: (s: SavedSubstitute) => void | Promise<void>;
  /** Costs per split (TEE impact, enclave memory) from `runBench` or a saved report.json. */
  bench?: BenchReport;
  /** The provider's target for the recommendation; none = no recommendation. */
  maxStolenAccuracy?: number;
  /** The enclave's engine. @defaultValue 'ort' */
  engine?: string;
  command?: string;
  modelName?: string;
  progress?: (line: string) => void;
}

/** A trained substitute as the attacker would keep it: the public head and the substitute tail. */
export interface SavedSubstitute {
  k: number;
  defence: Defence;
  attacker: AttackerKind;
  queries: number;
  seed: number;
  /** The split's public head (empty when the whole model is private). */
  head: Uint8Array;
  /** The substitute tail: cut tensors in, probabilities out. */
  tail: Uint8Array;
  /** Its accuracy on the test set, as measured in TF.js. */
  substituteAccuracy: number;
}

/** Class per row of a model output, whether it holds probabilities or logits. */
export function outputLabels(t: TensorData): Int32Array {
  const data = Float32Array.from(t.data as Float32Array, Number);
  const c = data.length / Math.max(1, t.dims[0]!);
  const logit = c === 1 && data.some((v) => v < 0 || v > 1);
  return labelsOf({ dims: t.dims, data }, logit ? 'logit' : 'probability');
}

const agreement = (a: Int32Array, b: ArrayLike<number>) => {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : NaN;
};

/**
 * The query function the attacker gets: cut tensors in, the enclave's declared outputs out —
 * nothing else (no timings, no status). In 'label' mode each output row is replaced by the
 * one-hot of its top class (a deployment that returns labels only).
 */
export function publicQuery(forward: (cut: Record<string, TensorData>) => Promise<{ outputs: Record<string, TensorData> }>, outputNames: string[], mode: AnswerMode): QueryFn {
  return async (cut) => {
    const { outputs } = await forward(cut);
    const out: Record<string, TensorData> = {};
    for (const name of outputNames) {
      const t = outputs[name];
      if (!t) throw new EnclaveNnError('ATTACK_QUERY', `Cannot query the enclave: output '${name}' is missing`, { exitCode: 1 });
      if (mode === 'prob') { out[name] = { dtype: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float32Array, Number) }; continue; }
      const labels = outputLabels(t);
      const c = t.data.length / Math.max(1, t.dims[0]!);
      const hot = new Float32Array(t.data.length);
      labels.forEach((l, i) => { hot[c === 1 ? i : i * c + l] = c === 1 ? l : 1; });
      out[name] = { dtype: 'float32', dims: [...t.dims], data: hot };
    }
    return out;
  };
}

/** Attackers that need the enclave's answers (the own-data baseline sends no query). */
const querying = (r: AttackRow) => r.attacker !== 'own-data';

/**
 * The query function for a sealed output policy: cut tensors in, exactly the enclave's declared
 * outputs out (copied, dtype kept: int64 labels stay int64), nothing else.
 */
export function rawQuery(forward: (cut: Record<string, TensorData>) => Promise<{ outputs: Record<string, TensorData> }>, outputNames: string[]): QueryFn {
  return async (cut) => {
    const { outputs } = await forward(cut);
    return Object.fromEntries(outputNames.map((name) => {
      const t = outputs[name];
      if (!t) throw new EnclaveNnError('ATTACK_QUERY', `Cannot query the enclave: output '${name}' is missing`, { exitCode: 1 });
      return [name, { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TensorData['data'] }];
    }));
  };
}

/** The best non-skipped querying substitute's accuracy at the largest budget, under `defence` (all rows when undefined). */
function stolenAt(rows: AttackRow[], qMax: number, defence?: Defence): number {
  const acc = rows.filter((r) => r.queries === qMax && !r.skipped && querying(r) && (defence === undefined || r.defence === defence)).map((r) => r.substituteAccuracy);
  return acc.length ? Math.max(...acc) : NaN;
}

/**
 * TEESlice's normalised metric (Zhang et al., IEEE S&P 2024, docs/attack.md §4): an attack's
 * accuracy relative to the black-box baseline — the same attack when the whole model is in the
 * TEE. 1.0 = the split is as safe as shielding everything; above 1 it leaks more.
 *
 * @example
 * ```ts
 * relativeToBlackBox(0.9, 0.6); // 1.5
 * ```
 */
export function relativeToBlackBox(accuracy: number, blackBoxAccuracy: number): number {
  return blackBoxAccuracy > 0 ? accuracy / blackBoxAccuracy : NaN;
}

/**
 * Sets every row's {@link AttackRow.relativeToBlackBox}: its accuracy over that of the same
 * attacker, Q and defence on split `blackBoxK` (the whole model in the enclave); NaN when that
 * split or row was not evaluated.
 */
export function normaliseToBlackBox(splits: SplitProtection[], blackBoxK: number): void {
  const blackBox = splits.find((s) => s.k === blackBoxK);
  for (const s of splits) {
    for (const r of s.rows) {
      const bb = blackBox?.rows.find((x) => x.attacker === r.attacker && x.queries === r.queries && x.defence === r.defence);
      r.relativeToBlackBox = bb ? relativeToBlackBox(r.substituteAccuracy, bb.substituteAccuracy) : NaN;
    }
  }
}

/** Mean and sample standard deviation (0 for one value). */
export function meanSd(xs: number[]): { mean: number; sd: number } {
  if (xs.length === 0) return { mean: NaN, sd: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

/**
 * The license query cap (docs/attack.md §5): the largest Q of `queries` (> 0) such that at Q and
 * at every smaller evaluated Q, every querying attacker's worst-seed accuracy is ≤ `max`. Null
 * when the smallest Q already exceeds it.
 */
export function queryCap(rows: AttackRow[], queries: number[], max: number): number | null {
  let cap: number | null = null;
  for (const q of [...new Set(queries)].filter((x) => x > 0).sort((x, y) => x - y)) {
    const at = rows.filter((r) => r.queries === q && !r.skipped && querying(r));
    const worst = Math.max(...at.map((r) => r.accuracyRange?.[1] ?? r.substituteAccuracy));
    if (at.length === 0 || !(worst <= max)) break;
    cap = q;
  }
  return cap;
}

/** Mean total-variation distance between the model's probability rows and what the answers say (as distributions). */
function distortion(truth: TensorData, answers: Record<string, TensorData>): number {
  const n = truth.dims[0]!;
  const c = truth.data.length / Math.max(1, n);
  const p = targetsFromModel(truth);
  const q = answerTargets(answers, 'prob', Math.max(2, c)).data as Float32Array;
  const pp = p.data as Float32Array;
  if (c === 1) return NaN;
  let sum = 0;
  for (let i = 0; i < n * c; i++) sum += Math.abs(pp[i]! - q[i]!);
  return sum / 2 / Math.max(1, n);
}
const targetsFromModel = (t: TensorData) => answerTargets({ out: { dtype: 'float32', dims: [...t.dims], data: Float32Array.from(t.data as Float32Array, Number) } }, 'prob');

/** Rows of one (defence, attacker, Q) over seeds → one {@link AttackRow}. */
function aggregate(preds: StolenPrediction[], defence: Defence, truth: Int32Array, victim: Int32Array, victimAccuracy: number): AttackRow[] {
  const groups = new Map<string, StolenPrediction[]>();
  for (const p of preds) {
    const key = `${p.attacker} ${p.queries}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].map((ps) => {
    const first = ps[0]!;
    if (ps.some((p) => p.skipped)) {
      return { attacker: first.attacker, queries: first.queries, substitute: '-', epochs: 0, trainSeconds: 0, substituteAccuracy: NaN, fidelity: NaN, ratio: NaN, skipped: ps.find((p) => p.skipped)!.skipped, defence };
    }
    const perSeed = ps.map((p) => ({ seed: p.seed, substituteAccuracy: agreement(p.labels, truth), fidelity: agreement(p.labels, victim), epochs: p.epochs, bestEpoch: p.bestEpoch }));
    const acc = meanSd(perSeed.map((x) => x.substituteAccuracy));
    const fid = meanSd(perSeed.map((x) => x.fidelity));
    return {
      attacker: first.attacker, queries: first.queries, substitute: first.substitute, defence,
      epochs: meanSd(ps.map((p) => p.epochs)).mean, trainSeconds: meanSd(ps.map((p) => p.trainSeconds)).mean,
      substituteAccuracy: acc.mean, substituteAccuracySd: acc.sd, fidelity: fid.mean, fidelitySd: fid.sd, ratio: acc.mean / victimAccuracy,
      accuracyRange: [Math.min(...perSeed.map((x) => x.substituteAccuracy)), Math.max(...perSeed.map((x) => x.substituteAccuracy))], perSeed,
    };
  });
}

/**
 * The recommendation rule (docs/attack.md §5): among the evaluated splits whose stolen accuracy
 * (best attacker, largest Q) is measured and ≤ `max`, the one with the fewest private layers.
 */
export function recommend(splits: SplitProtection[], max: number): Recommendation {
  const ok = splits.filter((s) => Number.isFinite(s.stolenAccuracy) && s.stolenAccuracy <= max).sort((a, b) => a.k - b.k);
  return {
    k: ok[0]?.k ?? null, maxStolenAccuracy: max,
    rule: 'the fewest private layers whose stolen accuracy (best attacker, largest query budget) is at most the target',
  };
}

/** The output policy string a defence seals into the bundle. */
const policyOf = (d: Defence) => (d === 'prob' ? 'probabilities' : d);

async function runInBatches(run: (f: Record<string, TensorData>) => Promise<TensorData>, feeds: Record<string, TensorData>, batch: number): Promise<TensorData> {
  const n = rowCount(feeds);
  const parts: TensorData[] = [];
  for (let s = 0; s < n; s += batch) {
    const t = await run(sliceFeeds(feeds, s, Math.min(n, s + batch)));
    parts.push({ dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TensorData['data'] });
  }
  return concatRows(parts);
}

/**
 * Evaluates how much every split protects against query-based model stealing.
 *
 * @example
 * ```ts
 * const report = await evaluateProtection(model, { data: { x }, test: { inputs: { x: xt }, labels }, queries: [50, 500] });
 * ```
 */
export async function evaluateProtection(model: ModelProto, o: EvaluateOptions): Promise<ProtectionReport> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const startedAt = new Date().toISOString();
  const queries = o.queries ?? [50, 500, 5000];
  const mode = o.mode ?? 'label';
  const attackers = o.attackers ?? ['generic', 'architecture'];
  const seed = o.seed ?? 1;
  const trainPasses = o.trainPasses ?? 10000;
  const log = o.progress ?? (() => {});
  const view = new GraphView(model);
  await view.inferTypes();
  const list = listCuts(view);
  const ks = checkedSplits(list, o.splits, 'ATTACK_SPLITS', 'attack');
  checkFeeds(view.inputs, sliceFeeds(o.data, 0, 1));
  checkFeeds(view.inputs, sliceFeeds(o.test.inputs, 0, 1));
  const testRows = rowCount(o.test.inputs);
  if (o.test.labels.length !== testRows) throw new EnclaveNnError('ATTACK_TEST', `Cannot attack: the test set has ${testRows} inputs but ${o.test.labels.length} labels`);
  const qMax = Math.max(0, ...queries);
  const batch = typeof view.inputs[0]?.shape[0] === 'number' ? view.inputs[0].shape[0] : 256;
  const outName = view.outputs[0]!.name;
  const fullBytes = encodeModel(model);
  // k = 0: the whole model is public; the "stolen" model is the model itself.
  const fullOut = await runInBatches(async (f) => (await runOnnx(fullBytes, f, [outName]))[outName]!, o.test.inputs, batch);
  const outWidth = fullOut.data.length / testRows;
  const classes = Math.max(2, outWidth);
  // The split is exact (docs/bench.md): every split's victim labels are the whole model's.
  const victim = outputLabels(fullOut);
  const fullAcc = agreement(victim, o.test.labels);
  const defences = o.defences ?? [mode];
  const seeds = o.seeds ?? [seed];
  const blackBoxK = Math.max(...list.cuts.map((c) => c.privateLayers));
  const splits: SplitProtection[] = [];
  for (const k of ks) {
    const cost = o.bench?.splits.find((s) => s.k === k);
    const costFields = cost ? { teeImpact: cost.tee_impact, enclavePeakRssBytes: cost.enclave_peak_rss_bytes, tailWeightBytes: cost.tail_weight_bytes } : {};
    if (k === 0) {
      splits.push({ k, firstPrivateLayer: null, cut: [], victimAccuracy: fullAcc, rows: [], stolenAccuracy: fullAcc, ...costFields, teeImpact: 1, tailWeightBytes: 0 }); // nothing in the enclave
      continue;
    }
    const cut = list.cuts.find((c) => c.privateLayers === k)!;
    const split = extractAt(view, cut);
    log(`k=${k}: tail from '${cut.firstPrivateLayer}', cut ${split.cutTensors.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`).join(', ')}`);
    const rows: AttackRow[] = [];
    const results: DefenceResult[] = [];
    for (const [di, defence] of defences.entries()) {
      const { bytes, providerKey } = bundleOfSplit(split, { outputPolicy: o.defences ? policyOf(defence) : 'probabilities' });
      const bundle = readBundle(bytes);
      const session = await Session.create({ bundle, keySource: { kind: 'insecure-dev-key', providerKey }, engine: o.engine });
      try {
        const forward = (cutFeeds: Record<string, TensorData>) => {
          const e = session.enclaveProcess;
          if (!e) throw new EnclaveNnError('ATTACK_QUERY', 'Cannot query the enclave: it is not running', { exitCode: 1 });
          return e.forward(cutFeeds);
        };
        const h = bundle.header;
        const names = h.outputs.map((t) => t.name);
        // The attacker's whole world: public head bytes, public header fields, outputs-only queries
        // (exactly what the sealed policy lets out of the enclave; 'label' without a policy list is the legacy evaluator one-hot).
        const surface: AttackSurface = {
          head: bundle.head,
          header: { headInputs: h.headInputs, inputs: h.inputs, outputs: h.outputs },
          query: o.defences ? rawQuery(forward, names) : publicQuery(forward, names, mode),
        };
        const honestOut: Record<string, TensorData> = {};
        for (const name of names) honestOut[name] = await runInBatches(async (f) => (await session.run(f))[name]!, o.test.inputs, batch);
        const honestAccuracy = agreement(answerLabels(honestOut), o.test.labels);
        const whole = bundle.head.byteLength === 0;
        const attackersHere = attackers.filter((a) => (a !== 'own-data' || di === 0) && (a !== 'pretrained' || whole));
        const preds = await stealTail(surface, {
          data: sliceFeeds(o.data, 0, qMax), queries, mode: o.defences ? 'prob' : mode, attackers: attackersHere, seeds, trainPasses, minEpochs: o.minEpochs,
          predictOn: o.test.inputs, queryBatch: batch, classes: outWidth >= 2 ? outWidth : undefined, ownLabels: o.dataLabels, pretrained: o.pretrained,
          architecture: attackersHere.includes('architecture') ? architectureOf(split.tail) : undefined,
          progress: (line) => log(`k=${k} ${defence}: ${line}`),
          onSubstitute: o.saveSubstitute
            ? (p, onnx) => o.saveSubstitute!({ k, defence, attacker: p.attacker, queries: p.queries, seed: p.seed, head: bundle.head, tail: encodeModel(onnx), substituteAccuracy: agreement(p.labels, o.test.labels) })
            : undefined,
        });
        const here = aggregate(preds, defence, o.test.labels, victim, fullAcc);
        rows.push(...here);
        results.push({
          defence, honestAccuracy, honestDistortion: distortion(fullOut, honestOut), stolenAccuracy: stolenAt(here, qMax),
          ...(o.maxStolenAccuracy === undefined ? {} : { queryCap: queryCap(here, queries, o.maxStolenAccuracy) }),
        });
        const pc = (v: number) => `${(v * 100).toFixed(1)}%`;
        log(`k=${k} ${defence}: honest ${pc(honestAccuracy)}; ${here.map((x) => `${x.attacker} Q=${x.queries} ${x.skipped ? 'skipped' : `${pc(x.substituteAccuracy)}±${pc(x.substituteAccuracySd ?? 0)} (fidelity ${pc(x.fidelity)})`}`).join(', ')}`);
      } finally {
        await session.close();
      }
    }
    const own = rows.filter((r) => r.attacker === 'own-data' && r.queries === qMax && !r.skipped);
    splits.push({
      k, firstPrivateLayer: cut.firstPrivateLayer, cut: split.cutTensors.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`),
      victimAccuracy: fullAcc, rows, stolenAccuracy: stolenAt(rows, qMax, defences[0]), ...costFields, defences: results,
      ...(own.length ? { ownDataAccuracy: own[0]!.substituteAccuracy } : {}),
    });
  }
  normaliseToBlackBox(splits, blackBoxK);
  const recommendation = o.maxStolenAccuracy === undefined ? null : {
    ...recommend(splits, o.maxStolenAccuracy),
    queryCaps: splits.filter((s) => s.k > 0).map((s) => ({ k: s.k, defence: defences[0]!, cap: s.defences?.[0]?.queryCap ?? null })),
  };
  return {
    model: o.modelName ?? '<model>', command: o.command ?? '', startedAt, durationMs: performance.now() - t0,
    cpuSeconds: (() => { const c = process.cpuUsage(cpu0); return (c.user + c.system) / 1e6; })(),
    options: {
      queries, mode, seed: seeds[0]!, trainPasses, attackers, dataRows: rowCount(o.data), testRows,
      defences, seeds, minEpochs: o.minEpochs ?? 1, querySource: o.querySource ?? 'in-distribution', ...(o.pretrained ? { pretrained: o.pretrained } : {}),
    },
    classes, splits, recommendation,
  };
}
