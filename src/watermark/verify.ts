/**
 * Verifying a suspect model against a bundle's answer watermark (docs/watermark.md): the
 * provider runs its own model (head + tail, opened with the model key) and the suspect on its
 * own data, selects the rows the enclave would have marked, and tests whether the suspect
 * answers their keyed labels more often than chance (one-sided binomial test).
 * @module
 */
import type { Bundle, ProviderKey } from '../bundle/types.ts';
import { TailOpener } from '../bundle/tail.ts';
import { WatermarkKey, type WatermarkConfig } from '../bundle/watermark.ts';
import { zeroize } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { argmax } from '../enclave/trusted/output-policy.ts';
import { concatRows, sliceRows } from '../runtime/rows.ts';

/** The significance level of a "match" when none is given: a false claim of theft must be very unlikely. */
export const DEFAULT_ALPHA = 1e-6;

/** What {@link judgeWatermark} and {@link verifyWatermark} report (the `--json` object). */
export interface WatermarkVerdict {
  verdict: 'match' | 'no match';
  /** P(X ≥ agreeing) for X ~ Binomial(marked, chance): the probability of this much agreement by chance. */
  pValue: number;
  alpha: number;
  /** Rows of the provider's data. */
  rows: number;
  /** Rows the enclave would mark (score above the threshold). */
  marked: number;
  /** Marked rows where the suspect answers the keyed label π(victim label). */
  agreeing: number;
  /** Unmarked rows where the suspect answers π(victim label): its own rate of such answers (control). */
  controlAgreeing: number;
  /** The null hypothesis' agreement probability: max(1 / classes, controlAgreeing / unmarked rows). */
  chance: number;
  classes: number;
  /** The rate sealed in the bundle. */
  rate: number;
  /** Marked rows where the suspect answers the victim's own label (how much of the rest it copies). */
  victimAgreeing: number;
}

/**
 * ln P(X ≥ k) for X ~ Binomial(n, p), summed in log space (exact to rounding; n up to millions).
 *
 * @example
 * ```ts
 * Math.exp(binomialLogTail(10, 10, 0.5)); // 2^-10
 * ```
 */
export function binomialLogTail(n: number, k: number, p: number): number {
  if (k <= 0) return 0;
  if (k > n) return -Infinity;
  if (p <= 0) return -Infinity;
  if (p >= 1) return 0;
  let lnC = 0; // ln C(n, k)
  for (let i = 1; i <= k; i++) lnC += Math.log(n - k + i) - Math.log(i);
  let term = lnC + k * Math.log(p) + (n - k) * Math.log1p(-p);
  let acc = term;
  const ratio = Math.log(p) - Math.log1p(-p);
  for (let j = k; j < n; j++) {
    term += Math.log(n - j) - Math.log(j + 1) + ratio; // pmf(j + 1) from pmf(j)
    const hi = Math.max(acc, term);
    acc = hi + Math.log(Math.exp(acc - hi) + Math.exp(term - hi));
    if (term < acc - 50) break; // the rest adds less than e^-50 relative (terms fall from here on)
  }
  return Math.min(0, acc);
}

/**
 * The verdict from labels: on the marked rows, how often the suspect answers π(victim label),
 * against chance = max(1/C, the suspect's rate of π(victim label) on the unmarked rows) — the
 * larger of a random guess and the suspect's own habit of confusing c with π(c), so neither a
 * guessing model nor one whose errors happen to follow π is called a copy.
 */
export function judgeWatermark(o: {
  marked: ArrayLike<boolean>; victim: ArrayLike<number>; suspect: ArrayLike<number>; permutation: Int32Array; rate: number; alpha?: number;
}): WatermarkVerdict {
  const alpha = o.alpha ?? DEFAULT_ALPHA;
  const classes = o.permutation.length;
  let marked = 0, agreeing = 0, control = 0, controlAgreeing = 0, victimAgreeing = 0;
  for (let i = 0; i < o.victim.length; i++) {
    const keyed = o.permutation[o.victim[i]!];
    if (o.marked[i]) {
      marked++;
      if (o.suspect[i] === keyed) agreeing++;
      if (o.suspect[i] === o.victim[i]) victimAgreeing++;
    } else {
      control++;
      if (o.suspect[i] === keyed) controlAgreeing++;
    }
  }
  const chance = Math.max(1 / classes, control ? controlAgreeing / control : 0);
  const pValue = Math.exp(binomialLogTail(marked, agreeing, chance));
  return {
    verdict: marked > 0 && pValue < alpha ? 'match' : 'no match', pValue, alpha, rows: o.victim.length, marked, agreeing,
    controlAgreeing, chance, classes, rate: o.rate, victimAgreeing,
  };
}

/** Options of {@link verifyWatermark}. */
export interface VerifyOptions {
  /** The watermarked bundle (its head, header and sealed tail). */
  bundle: Bundle;
  /** Its provider key (the model key opens the tail and derives the watermark key). */
  providerKey: ProviderKey;
  /** The suspect: ONNX bytes taking the model's inputs (or the bundle's cut tensors), answering [N, C] scores or [N] labels. */
  suspect: Uint8Array;
  /** The provider's data: rows for the model's single input. */
  data: TensorData;
  /** @defaultValue {@link DEFAULT_ALPHA} */
  alpha?: number;
  /** Rows per ONNX run. @defaultValue 256 */
  batch?: number;
}

/** What the provider computes once per bundle and data set: which rows are marked, and the victim's labels. */
export interface MarkedData {
  config: WatermarkConfig;
  key: WatermarkKey;
  /** The cut tensors of every row (what a suspect tail takes). */
  cut: Record<string, TensorData>;
  marked: boolean[];
  /** The deployed model's class per row, before the watermark. */
  victim: Int32Array;
}

/**
 * Runs the provider's own model on `data` and marks the rows as the enclave would (§5.7).
 * Throws `WATERMARK` when the bundle carries no watermark or the data do not fit.
 */
export async function markData(bundle: Bundle, providerKey: ProviderKey, data: TensorData, batch = 256): Promise<MarkedData> {
  const h = bundle.header;
  if (h.headInputs.length !== 1) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: the model takes ${h.headInputs.length} inputs; --data gives one`);
  const input = h.headInputs[0]!;
  if (data.dtype !== input.dtype || data.dims.length !== input.shape.length || input.shape.some((d, i) => i > 0 && typeof d === 'number' && d !== data.dims[i])) {
    throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: --data is ${data.dtype} [${data.dims.join(',')}], the model's input '${input.name}' is ${input.dtype} [${input.shape.join(',')}]`);
  }
  const opener = new TailOpener(bundle, providerKey.modelKey);
  for (const c of bundle.sealedTail.chunks) opener.push(c);
  const tail = opener.finish();
  try {
    const config = opener.watermark;
    if (!config) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: bundle ${bundle.source} carries none (split it with --watermark RATE)`);
    const rows = data.dims[0]!;
    const cuts: Record<string, TensorData>[] = [];
    const outs: Record<string, TensorData>[] = [];
    for (let s = 0; s < rows; s += batch) {
      const x = sliceRows({ [input.name]: data }, s, Math.min(batch, rows - s));
      const cut = bundle.head.byteLength ? await runOnnx(bundle.head, x, h.inputs.map((t) => t.name)) : x;
      cuts.push(cut);
      outs.push(await runOnnx(tail, cut));
    }
    const cut = concatRows(cuts);
    const y = Object.values(concatRows(outs))[0]!;
    const key = WatermarkKey.derive(providerKey.modelKey, h.inputs, config.classes);
    const marked = Array.from(key.scores(cut), (s) => s > config.threshold);
    return { config, key, cut, marked, victim: labelsOf(y, config.classes) };
  } finally {
    zeroize(tail);
  }
}

/**
 * Verifies a suspect model against a bundle's watermark on the provider's data.
 *
 * @example
 * ```ts
 * const v = await verifyWatermark({ bundle, providerKey, suspect: readFileSync('suspect.onnx'), data: x });
 * console.log(v.verdict, v.pValue);
 * ```
 */
export async function verifyWatermark(o: VerifyOptions): Promise<WatermarkVerdict> {
  const m = await markData(o.bundle, o.providerKey, o.data, o.batch);
  const suspect = await suspectLabels(o.suspect, o.bundle, o.data, m, o.batch ?? 256);
  return judgeWatermark({ marked: m.marked, victim: m.victim, suspect, permutation: m.key.permutation, rate: m.config.rate, alpha: o.alpha });
}

/** The suspect's class per row: fed the model's input (a whole stolen copy), or the cut tensors (a stolen tail). */
async function suspectLabels(suspect: Uint8Array, bundle: Bundle, data: TensorData, m: MarkedData, batch: number): Promise<Int32Array> {
  const h = bundle.header;
  const name = h.headInputs[0]!.name;
  const rows = data.dims[0]!;
  const all = new Int32Array(rows);
  let feed: 'input' | 'cut' | undefined;
  for (let s = 0; s < rows; s += batch) {
    const n = Math.min(batch, rows - s);
    const x = sliceRows({ [name]: data }, s, n);
    const cut = sliceRows(m.cut, s, n);
    feed ??= await runOnnx(suspect, x).then(() => 'input' as const, () => runOnnx(suspect, cut).then(() => 'cut' as const, (cause: unknown) => {
      throw new EnclaveNnError('WATERMARK', `Cannot run the suspect model: it takes neither the model's input '${name}' nor the cut ${h.inputs.map((t) => `'${t.name}'`).join(', ')} (${firstLine(cause)})`, { cause });
    }));
    const out = await runOnnx(suspect, feed === 'input' ? x : cut);
    all.set(labelsOf(Object.values(out)[0]!, m.config.classes), s);
  }
  return all;
}

/** Class per row of [N, C] scores (argmax; NaN never wins) or of [N] / [N, 1] integer labels. */
function labelsOf(t: TensorData, classes: number): Int32Array {
  const n = t.dims[0] ?? 0;
  const c = t.data.length / Math.max(1, n);
  const out = new Int32Array(n);
  if (c === 1 && t.dtype !== 'float32' && t.dtype !== 'float64') {
    for (let i = 0; i < n; i++) out[i] = Number(t.data[i]!);
    return out;
  }
  if (c !== classes) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: the suspect answers ${c} value(s) per row, the model ${classes} classes`);
  const f = Float64Array.from(t.data as Float32Array, Number);
  for (let i = 0; i < n; i++) out[i] = argmax(f.subarray(i * c, (i + 1) * c));
  return out;
}

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!.slice(0, 200);
