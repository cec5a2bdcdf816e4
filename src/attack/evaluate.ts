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
import { createBundle } from '../bundle/create.ts';
import { readBundle } from '../bundle/read.ts';
import { EnclaveNnError } from '../errors.ts';
import { encodeModel } from '../onnx/codec.ts';
import { GraphView } from '../onnx/graph.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { formatShape } from '../onnx/tensor-spec.ts';
import { Session, checkFeeds } from '../runtime/session.ts';
import { extractAt, listCuts } from '../split/index.ts';
import { stealTail } from './attacker.ts';
import { concatRows, rowCount, sliceFeeds } from './rows.ts';
import { architectureOf } from './skeleton.ts';
import { labelsOf } from './train.ts';
import type { AnswerMode, AttackRow, AttackSurface, AttackerKind, ProtectionReport, QueryFn, Recommendation, SplitProtection } from './types.ts';

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
  /** @defaultValue ['generic', 'architecture'] */
  attackers?: AttackerKind[];
  /** @defaultValue 1 */
  seed?: number;
  /** @defaultValue 10000 */
  trainPasses?: number;
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

/** The best non-skipped substitute accuracy at the largest budget. */
function stolenAt(rows: AttackRow[], qMax: number): number {
  const acc = rows.filter((r) => r.queries === qMax && !r.skipped).map((r) => r.substituteAccuracy);
  return acc.length ? Math.max(...acc) : NaN;
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
  const L = list.layers.length;
  const ks = o.splits ?? Array.from({ length: L + 1 }, (_, i) => i);
  for (const k of ks) if (!Number.isInteger(k) || k < 0 || k > L) throw new EnclaveNnError('ATTACK_SPLITS', `Cannot attack: split ${k} is out of range; valid: 0..${L}`);
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
  const classes = Math.max(2, fullOut.data.length / testRows);
  const fullAcc = agreement(outputLabels(fullOut), o.test.labels);
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
    const { bytes, providerKey } = createBundle({
      head: split.head ? encodeModel(split.head) : new Uint8Array(0), tail: encodeModel(split.tail),
      inputs: split.cutTensors, outputs: split.tailOutputs, headInputs: split.inputs,
    });
    const bundle = readBundle(bytes);
    const session = await Session.create({ bundle, keySource: { kind: 'insecure-dev-key', providerKey }, engine: o.engine });
    try {
      const forward = (cutFeeds: Record<string, TensorData>) => {
        const e = session.enclaveProcess;
        if (!e) throw new EnclaveNnError('ATTACK_QUERY', 'Cannot query the enclave: it is not running', { exitCode: 1 });
        return e.forward(cutFeeds);
      };
      const h = bundle.header;
      // The attacker's whole world: public head bytes, public header fields, outputs-only queries.
      const surface: AttackSurface = {
        head: bundle.head,
        header: { headInputs: h.headInputs, inputs: h.inputs, outputs: h.outputs },
        query: publicQuery(forward, h.outputs.map((t) => t.name), mode),
      };
      const victimOut = await runInBatches(async (f) => (await session.run(f))[outName]!, o.test.inputs, batch);
      const victim = outputLabels(victimOut);
      const victimAccuracy = agreement(victim, o.test.labels);
      const preds = await stealTail(surface, {
        data: sliceFeeds(o.data, 0, qMax), queries, mode, attackers, seed, trainPasses, predictOn: o.test.inputs, queryBatch: batch,
        architecture: attackers.includes('architecture') ? architectureOf(split.tail) : undefined,
        progress: (line) => log(`k=${k}: ${line}`),
      });
      const rows: AttackRow[] = preds.map((p) => {
        const acc = p.skipped ? NaN : agreement(p.labels, o.test.labels);
        return {
          attacker: p.attacker, queries: p.queries, substitute: p.substitute, epochs: p.epochs, trainSeconds: p.trainSeconds,
          substituteAccuracy: acc, fidelity: p.skipped ? NaN : agreement(p.labels, victim), ratio: acc / victimAccuracy,
          ...(p.skipped ? { skipped: p.skipped } : {}),
        };
      });
      const pc = (v: number) => `${(v * 100).toFixed(1)}%`;
      log(`k=${k}: victim ${pc(victimAccuracy)}; ${rows.map((x) => `${x.attacker} Q=${x.queries} ${x.skipped ? 'skipped' : `${pc(x.substituteAccuracy)} (fidelity ${pc(x.fidelity)})`}`).join(', ')}`);
      splits.push({
        k, firstPrivateLayer: cut.firstPrivateLayer, cut: split.cutTensors.map((t) => `${t.name} ${t.dtype}${formatShape(t.shape)}`),
        victimAccuracy, rows, stolenAccuracy: stolenAt(rows, qMax), ...costFields,
      });
    } finally {
      await session.close();
    }
  }
  return {
    model: o.modelName ?? '<model>', command: o.command ?? '', startedAt, durationMs: performance.now() - t0,
    cpuSeconds: (() => { const c = process.cpuUsage(cpu0); return (c.user + c.system) / 1e6; })(),
    options: { queries, mode, seed, trainPasses, attackers, dataRows: rowCount(o.data), testRows },
    classes, splits,
    recommendation: o.maxStolenAccuracy === undefined ? null : recommend(splits, o.maxStolenAccuracy),
  };
}
