/**
 * The answer watermark (docs/bundle-format.md §5.7): its sealed record and its keyed parts. The
 * enclave answers the rows whose cut tensors fall in a secret half-space with a keyed label
 * mapping; the provider later recognises a model trained on those answers. Everything secret
 * here derives from the model key K, so it exists only where K does (the enclave, the
 * provider): the record sealed with the tail holds only the rate and the half-space's offset.
 */
import { concatBytes, hkdfSha256, sha256, zeroize, LABEL_WATERMARK } from '../crypto/index.ts';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import type { TensorSpec } from '../onnx/tensor-spec.ts';

/** What the sealed record holds (§5.7). */
export interface WatermarkConfig {
  /** The fraction of natural inputs the provider asked to mark, in (0, {@link MAX_WATERMARK_RATE}]. */
  rate: number;
  /** The half-space's offset: a row is marked when its score exceeds it (set on calibration data). */
  threshold: number;
  /** The tail's class count C (the label mapping permutes C classes; the header may show only labels). */
  classes: number;
}

/** First byte of the watermark record ('W'); never a policy record's version (§5.6, §5.7). */
export const WATERMARK_RECORD_TAG = 0x57;
/** Version byte of the watermark record. */
export const WATERMARK_RECORD_VERSION = 1;
/** Size of the record: tag, version, u16 classes, f64 rate, f64 threshold. */
export const WATERMARK_RECORD_SIZE = 20;
/** Largest rate: beyond half the answers are wrong, the mark is the model. */
export const MAX_WATERMARK_RATE = 0.5;
/** Fewest calibration rows, and fewest of them above the threshold. */
export const MIN_CALIBRATION_ROWS = 100;
const MIN_CALIBRATION_MARKED = 10;

const RATE = /^0\.[0-9]{1,6}$/;

/**
 * Parses `split --watermark RATE`: a plain decimal in (0, 0.5] such as `0.05`. Throws
 * `WATERMARK` naming what is wrong.
 *
 * @example
 * ```ts
 * parseWatermarkRate('0.05'); // 0.05
 * ```
 */
export function parseWatermarkRate(text: string): number {
  const r = Number(text);
  if (!RATE.test(text)) throw new EnclaveNnError('WATERMARK', `Cannot read watermark rate '${text.slice(0, 40)}': expected a decimal in (0, ${MAX_WATERMARK_RATE}] such as 0.05`);
  if (!(r > 0 && r <= MAX_WATERMARK_RATE)) throw new EnclaveNnError('WATERMARK', `Cannot read watermark rate '${text}': it must lie in (0, ${MAX_WATERMARK_RATE}]`);
  return r;
}

/** The record (§5.7): 'W' ‖ u8 version 1 ‖ u16 BE classes ‖ f64 BE rate ‖ f64 BE threshold. */
export function encodeWatermarkRecord(c: WatermarkConfig): Uint8Array {
  if (!validConfig(c)) throw new RangeError('watermark rate must lie in (0, 0.5], the threshold be finite and the classes 2…65535');
  const out = new Uint8Array(WATERMARK_RECORD_SIZE);
  const dv = new DataView(out.buffer);
  out[0] = WATERMARK_RECORD_TAG;
  out[1] = WATERMARK_RECORD_VERSION;
  dv.setUint16(2, c.classes, false);
  dv.setFloat64(4, c.rate, false);
  dv.setFloat64(12, c.threshold, false);
  return out;
}

const validConfig = (c: WatermarkConfig) => c.rate > 0 && c.rate <= MAX_WATERMARK_RATE && Number.isFinite(c.threshold) && Number.isInteger(c.classes) && c.classes >= 2 && c.classes <= 0xffff;

/**
 * Reads a watermark record at the start of `rest` (§5.7). No record (nothing, or a first byte
 * other than 'W', which the padding check then judges): `{ config: null, size: 0 }`; a
 * malformed one (unknown version, short, rate out of range, a non-finite threshold): null.
 */
export function decodeWatermarkRecord(rest: Uint8Array): { config: WatermarkConfig | null; size: number } | null {
  if (rest.byteLength === 0 || rest[0] !== WATERMARK_RECORD_TAG) return { config: null, size: 0 };
  if (rest[1] !== WATERMARK_RECORD_VERSION || rest.byteLength < WATERMARK_RECORD_SIZE) return null;
  const dv = new DataView(rest.buffer, rest.byteOffset, WATERMARK_RECORD_SIZE);
  const config = { classes: dv.getUint16(2, false), rate: dv.getFloat64(4, false), threshold: dv.getFloat64(12, false) };
  return validConfig(config) ? { config, size: WATERMARK_RECORD_SIZE } : null;
}

/**
 * Why a model cannot carry the watermark, or null when it can: the cut must be float32 tensors
 * of fixed size per row (the secret direction has one coefficient per element), the output one
 * float32 [batch, C] tensor with C ≥ 2 fixed (the mark is a class decision).
 */
export function watermarkRefusal(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): string | null {
  for (const t of inputs) {
    if (t.dtype !== 'float32') return `cut tensor '${t.name}' is ${t.dtype}; the watermark's secret direction needs float32 cut tensors`;
    if (t.shape.slice(1).some((d) => typeof d !== 'number')) return `cut tensor '${t.name}' has a symbolic dimension after the batch; the watermark needs a fixed size per row`;
  }
  const out = outputs[0];
  if (outputs.length !== 1 || !out || out.dtype !== 'float32' || out.shape.length !== 2 || typeof out.shape[1] !== 'number' || out.shape[1] < 2) {
    return 'the watermark needs one float32 [batch, classes] output with at least 2 fixed classes';
  }
  return null;
}

/**
 * The watermark's keyed parts for one bundle (§5.7), derived from the model key K:
 * seed = HKDF-SHA256(K, salt empty, info 'enclave-nn/v1/watermark', 32); the direction v and the
 * label mapping π come from SHA-256(seed ‖ purpose ‖ u32 BE counter). Hold it only where K
 * may be: in the enclave, or at the provider.
 */
export class WatermarkKey {
  /** One coefficient in [−1, 1) per element of a row of the cut tensors, in header order. */
  readonly direction: Float64Array;
  /** π: class c is answered as π[c]; a single cycle, so π[c] ≠ c for every c. */
  readonly permutation: Int32Array;
  readonly #inputs: { name: string; size: number }[];

  private constructor(direction: Float64Array, permutation: Int32Array, inputs: { name: string; size: number }[]) {
    this.direction = direction;
    this.permutation = permutation;
    this.#inputs = inputs;
  }

  /**
   * Derives the key of a bundle from its model key, its cut (`header.inputs`) and class count.
   *
   * @example
   * ```ts
   * const wm = WatermarkKey.derive(providerKey.modelKey, header.inputs, 10);
   * const marked = wm.scores(cutFeeds).map((s) => s > config.threshold);
   * ```
   */
  static derive(modelKey: Uint8Array, inputs: readonly TensorSpec[], classes: number): WatermarkKey {
    const why = watermarkRefusal(inputs, [{ name: 'y', dtype: 'float32', shape: ['batch', classes] }]);
    if (why) throw new RangeError(why);
    if (!(modelKey instanceof Uint8Array) || modelKey.byteLength !== 32) throw new RangeError('model key must be 32 bytes');
    // Salt empty: K is a fresh uniform 32-byte key; the label separates this purpose from the tail key's.
    const seed = hkdfSha256(modelKey, new Uint8Array(0), LABEL_WATERMARK, 32);
    try {
      const sizes = inputs.map((t) => ({ name: t.name, size: t.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1) }));
      const d = sizes.reduce((a, t) => a + t.size, 0);
      const direction = new Float64Array(d);
      const dir = words(seed, 1, d);
      for (let i = 0; i < d; i++) direction[i] = dir[i]! / 2 ** 31 - 1;
      // Sattolo's shuffle: a uniformly random single cycle, so no class maps to itself. The
      // modulo bias of a 32-bit word over ≤ 2^16 classes is below 2^-16: irrelevant for a mark.
      const permutation = Int32Array.from({ length: classes }, (_, c) => c);
      const perm = words(seed, 2, classes);
      for (let i = classes - 1; i > 0; i--) {
        const j = perm[i]! % i;
        [permutation[i], permutation[j]] = [permutation[j]!, permutation[i]!];
      }
      return new WatermarkKey(direction, permutation, sizes);
    } finally {
      zeroize(seed);
    }
  }

  /** The score ⟨v, z⟩ of every row of the cut tensors (float64, elements in header order); NaN rows never mark. */
  scores(feeds: Record<string, TensorData>): Float64Array {
    const first = feeds[this.#inputs[0]!.name];
    if (!first) throw new RangeError(`cut tensor '${this.#inputs[0]!.name}' is missing`);
    const batch = first.dims[0] ?? 1;
    const out = new Float64Array(batch);
    for (let r = 0; r < batch; r++) {
      let s = 0;
      let o = 0;
      for (const { name, size } of this.#inputs) {
        const data = feeds[name]?.data;
        if (!(data instanceof Float32Array) || data.length !== batch * size) throw new RangeError(`cut tensor '${name}' is not float32 with ${size} elements per row`);
        const base = r * size;
        for (let i = 0; i < size; i++) s += this.direction[o + i]! * data[base + i]!;
        o += size;
      }
      out[r] = s;
    }
    return out;
  }
}

/** `count` 32-bit words of SHA-256(seed ‖ purpose ‖ u32 BE counter), counter 0, 1, … */
function words(seed: Uint8Array, purpose: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let block = 0; block * 8 < count; block++) {
    const h = sha256(concatBytes(seed, Uint8Array.of(purpose, block >>> 24, (block >>> 16) & 0xff, (block >>> 8) & 0xff, block & 0xff)));
    const dv = new DataView(h.buffer, h.byteOffset, 32);
    for (let j = 0; j < 8 && block * 8 + j < count; j++) out[block * 8 + j] = dv.getUint32(j * 4, false);
    zeroize(h);
  }
  return out;
}

/**
 * The offset that marks the fraction `rate` of the calibration scores: rows scoring above it
 * are marked (§5.7). Throws `WATERMARK` when there are too few finite scores for that rate.
 */
export function watermarkThreshold(scores: Float64Array, rate: number): number {
  const s = Array.from(scores).filter(Number.isFinite).sort((a, b) => a - b);
  const marked = Math.round(rate * s.length);
  if (s.length < MIN_CALIBRATION_ROWS || marked < MIN_CALIBRATION_MARKED) {
    throw new EnclaveNnError('WATERMARK', `Cannot calibrate the watermark: ${s.length} calibration row(s) with finite cut tensors mark ${marked} at rate ${rate}; give at least ${MIN_CALIBRATION_ROWS} rows and ${MIN_CALIBRATION_MARKED} marked`);
  }
  return s[s.length - marked - 1]!;
}
