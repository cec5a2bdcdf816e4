/**
 * Verifying a suspect model against a bundle's answer watermark (docs/watermark.md): the
 * provider runs its own model (head + tail, opened with the model key) and the suspect on its
 * own data, takes the rows the bundle's key selects, and tests whether the suspect answers
 * their keyed labels more often than it does under random keys (an empirical null).
 * @module
 */
import type { Bundle, ProviderKey } from '../bundle/types.ts';
import { TailOpener } from '../bundle/tail.ts';
import { WatermarkKey, type WatermarkConfig } from '../bundle/watermark.ts';
import { concatBytes, hkdfSha256, sha256, zeroize, LABEL_WATERMARK_NULL } from '../crypto/index.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';
import { EnclaveNnError, errorLine } from '../errors.ts';
import { runOnnx, type TensorData } from '../onnx/ort.ts';
import { argmax } from '../enclave/trusted/output-policy.ts';
import { concatRows, sliceRows } from '../runtime/rows.ts';

/**
 * The significance level of a "match" when none is given: at most 1 in 1000 models that never
 * saw the watermarked answers is called a copy. With {@link DEFAULT_NULL_KEYS} null keys it
 * means: no null key reaches the observed agreement.
 */
export const DEFAULT_ALPHA = 1e-3;
/** Random keys in the empirical null when none is given; the smallest p-value is 1 / (M + 1). */
export const DEFAULT_NULL_KEYS = 999;
/** Fewest null keys: below this the p-value is too coarse to mean anything. */
export const MIN_NULL_KEYS = 200;
/** Fewest judged rows (rate × rows of the provider's data): fewer cannot show a learned mapping. */
export const MIN_JUDGED_ROWS = 10;

/** What {@link judgeWatermark} and {@link verifyWatermark} report (the `--json` object). */
export interface WatermarkVerdict {
  verdict: 'match' | 'no match';
  /** (1 + #{null keys whose agreement ≥ the observed}) / (M + 1): an empirical p-value, valid for any model that never saw the marked answers. */
  pValue: number;
  alpha: number;
  /** Rows of the provider's data. */
  rows: number;
  /** Rows the enclave would mark (score above the sealed threshold). */
  marked: number;
  /** Rows each key judges: the round(rate × rows) it scores highest (the bundle key's are ≈ the marked rows). */
  judged: number;
  /** Judged rows where the suspect answers the keyed label π(victim label) under the bundle's key. */
  agreeing: number;
  /** M: the random keys (own direction, own permutation) of the null. */
  nullKeys: number;
  /** Null keys whose agreement is ≥ {@link agreeing}. */
  nullAtLeast: number;
  /** Mean and largest agreement over the null keys (what a model that never saw the mark scores). */
  nullMean: number;
  nullMax: number;
  classes: number;
  /** The rate sealed in the bundle. */
  rate: number;
  /** Judged rows where the suspect answers the victim's own label (how much of the rest it copies). */
  victimAgreeing: number;
}

/** The rows one key judges (its top-scoring ones) and its label mapping. */
interface Selection {
  rows: Int32Array;
  permutation: Int32Array;
}

/** What the provider computes once per bundle and data set; any number of suspects are then judged against it. */
export interface MarkedData {
  config: WatermarkConfig;
  /** The cut tensors of every row (what a suspect tail takes). */
  cut: Record<string, TensorData>;
  /** The deployed model's class per row, before the watermark. */
  victim: Int32Array;
  /** Rows the enclave would mark (score above the sealed threshold). */
  marked: number;
  /** The bundle key's selection. */
  own: Selection;
  /** The M null keys' selections (docs/watermark.md §3). */
  nulls: Selection[];
}

/** The `n` rows that score highest (ties: lower row first; a NaN score ranks last). */
function topRows(scores: Float64Array, n: number): Int32Array {
  const s = Float64Array.from(scores, (v) => (Number.isNaN(v) ? -Infinity : v));
  return Int32Array.from(s.keys()).sort((a, b) => (s[b]! - s[a]!) || a - b).slice(0, n); // a copy: M selections of n rows, not of every row
}

function select(key: WatermarkKey, cut: Record<string, TensorData>, n: number): Selection {
  return { rows: topRows(key.scores(cut), n), permutation: key.permutation };
}

/** Judged rows where `suspect` answers π(victim), and where it answers the victim's label. */
function agreement(s: Selection, victim: ArrayLike<number>, suspect: ArrayLike<number>): { agreeing: number; victimAgreeing: number } {
  let agreeing = 0, victimAgreeing = 0;
  for (const i of s.rows) {
    if (suspect[i] === s.permutation[victim[i]!]) agreeing++;
    if (suspect[i] === victim[i]) victimAgreeing++;
  }
  return { agreeing, victimAgreeing };
}

/**
 * The verdict from a suspect's labels, against an empirical null (docs/watermark.md §3). Every
 * key — the bundle's and the M null keys, each with its own direction v and permutation π —
 * judges its own n = round(rate × rows) top-scoring rows and counts those where the suspect
 * answers π(victim label). The bundle's key is one uniform draw from the same key space, so for
 * a suspect that never saw the marked answers its count is exchangeable with the M null counts,
 * however close the suspect is to the victim: p = (1 + #{null ≥ observed}) / (M + 1) is a valid
 * p-value, and the verdict is a match iff p ≤ alpha. Throws `WATERMARK` for an alpha that no
 * p-value could reach, or a suspect of another row count.
 *
 * @example
 * ```ts
 * const m = await markData(bundle, providerKey, x);
 * judgeWatermark({ m, suspect: labels }).verdict; // 'match' | 'no match'
 * ```
 */
export function judgeWatermark(o: { m: MarkedData; suspect: ArrayLike<number>; alpha?: number }): WatermarkVerdict {
  const { m, suspect } = o;
  const alpha = o.alpha ?? DEFAULT_ALPHA;
  const M = m.nulls.length;
  if (!(alpha > 0 && alpha < 1) || alpha < 1 / (M + 1)) {
    throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: alpha ${alpha} is below 1/(M+1) = ${(1 / (M + 1)).toPrecision(3)} with M = ${M} null keys, so nothing could match; give more null keys`);
  }
  if (suspect.length !== m.victim.length) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: the suspect gave ${suspect.length} labels for ${m.victim.length} rows`);
  const observed = agreement(m.own, m.victim, suspect);
  let nullAtLeast = 0, sum = 0, max = 0;
  for (const s of m.nulls) {
    const a = agreement(s, m.victim, suspect).agreeing;
    if (a >= observed.agreeing) nullAtLeast++; // ties count against a match: the p-value stays conservative
    sum += a;
    max = Math.max(max, a);
  }
  const pValue = (1 + nullAtLeast) / (M + 1);
  return {
    verdict: pValue <= alpha ? 'match' : 'no match', pValue, alpha, rows: m.victim.length, marked: m.marked, judged: m.own.rows.length,
    agreeing: observed.agreeing, nullKeys: M, nullAtLeast, nullMean: sum / M, nullMax: max, classes: m.config.classes,
    rate: m.config.rate, victimAgreeing: observed.victimAgreeing,
  };
}

/**
 * The M null keys' selections. Null key j: a stand-in model key SHA-256(null seed ‖ u32 BE j)
 * fed to the same derivation as the real key, so its v and π are drawn exactly as the real
 * ones. null seed = HKDF(K, 'enclave-nn/v1/watermark-null'): from K so that the verdict is
 * reproducible (same bundle, data and suspect → same p), under its own label so that the null
 * keys are independent of the bundle's.
 */
function nullSelections(modelKey: Uint8Array, inputs: TensorSpec[], classes: number, cut: Record<string, TensorData>, n: number, M: number): Selection[] {
  const seed = hkdfSha256(modelKey, new Uint8Array(0), LABEL_WATERMARK_NULL, 32);
  try {
    return Array.from({ length: M }, (_, j) => {
      const k = sha256(concatBytes(seed, Uint8Array.of(j >>> 24, (j >>> 16) & 0xff, (j >>> 8) & 0xff, j & 0xff)));
      try {
        return select(WatermarkKey.derive(k, inputs, classes), cut, n);
      } finally {
        zeroize(k);
      }
    });
  } finally {
    zeroize(seed);
  }
}

/** Options of {@link markData}. */
export interface MarkOptions {
  /** M, the random keys of the empirical null (at least {@link MIN_NULL_KEYS}). @defaultValue {@link DEFAULT_NULL_KEYS} */
  nullKeys?: number;
  /** Rows per ONNX run. @defaultValue 256 */
  batch?: number;
}

/**
 * Runs the provider's own model on `data`, marks the rows as the enclave would (§5.7) and draws
 * the null keys' selections. Throws `WATERMARK` when the bundle carries no watermark, the data
 * do not fit, give fewer than {@link MIN_JUDGED_ROWS} judged rows, or M is too small.
 *
 * @example
 * ```ts
 * const m = await markData(bundle, providerKey, x, { nullKeys: 999 });
 * ```
 */
export async function markData(bundle: Bundle, providerKey: ProviderKey, data: TensorData, options: MarkOptions = {}): Promise<MarkedData> {
  const M = options.nullKeys ?? DEFAULT_NULL_KEYS;
  const batch = options.batch ?? 256;
  if (!Number.isInteger(M) || M < MIN_NULL_KEYS) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: ${M} null keys; give an integer ≥ ${MIN_NULL_KEYS}`);
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
    const n = Math.round(config.rate * rows);
    if (n < MIN_JUDGED_ROWS) throw new EnclaveNnError('WATERMARK', `Cannot verify the watermark: ${rows} row(s) of data at rate ${config.rate} judge ${n}; give at least ${Math.ceil(MIN_JUDGED_ROWS / config.rate)} rows`);
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
    const scores = key.scores(cut);
    return {
      config, cut, victim: labelsOf(y, config.classes), marked: scores.filter((s) => s > config.threshold).length,
      own: { rows: topRows(scores, n), permutation: key.permutation },
      nulls: nullSelections(providerKey.modelKey, h.inputs, config.classes, cut, n, M),
    };
  } finally {
    zeroize(tail);
  }
}

/** Options of {@link verifyWatermark}. */
export interface VerifyOptions extends MarkOptions {
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
  const m = await markData(o.bundle, o.providerKey, o.data, o);
  const suspect = await suspectLabels(o.suspect, o.bundle, o.data, m, o.batch ?? 256);
  return judgeWatermark({ m, suspect, alpha: o.alpha });
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
      throw new EnclaveNnError('WATERMARK', `Cannot run the suspect model: it takes neither the model's input '${name}' nor the cut ${h.inputs.map((t) => `'${t.name}'`).join(', ')} (${errorLine(cause).slice(0, 200)})`, { cause });
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

