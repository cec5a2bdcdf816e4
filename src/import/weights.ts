import { EnclaveNnError } from '../errors.ts';
import type { TfjsWeightEntry } from './keras-format.ts';
import type { LayerWeight } from './types.ts';

/** A stored weight, with the HDF5 group it was found in (Keras 2 files group weights by layer). */
export interface StoredWeight extends LayerWeight {
  /** The layer group (`model_weights/<group>`) in HDF5 files; absent for TF.js manifests. */
  group?: string;
}

/** The weights a layer may claim; per-layer order follows the file. */
export class WeightStore {
  private readonly claimed = new Set<StoredWeight>();
  private readonly byLayer = new Map<string, LayerWeight[]>();
  constructor(readonly all: StoredWeight[]) {}

  /**
   * The weights of the Keras layer `layer`, in Keras order: those stored in its HDF5 group, else
   * those whose name has `layer` as its first path segment (`dense_1/kernel`), else as any
   * segment (a layer of a nested model: `sequential_1/dense_1/kernel`). A weight is handed out once,
   * except that a shared layer (called twice) gets the same weights again.
   */
  take(layer: string): LayerWeight[] {
    const known = this.byLayer.get(layer);
    if (known) return known;
    const unclaimed = (w: StoredWeight) => !this.claimed.has(w);
    let found = this.all.filter((w) => w.group === layer);
    if (found.length === 0) found = this.all.filter((w) => unclaimed(w) && segments(w.name)[0] === layer);
    if (found.length === 0) found = this.all.filter((w) => unclaimed(w) && segments(w.name).slice(0, -1).includes(layer));
    for (const w of found) this.claimed.add(w);
    const result = canonicalOrder(found).map(({ name, shape, data }) => ({ name, shape, data }));
    this.byLayer.set(layer, result);
    return result;
  }
}

function segments(name: string): string[] {
  return name.replace(/:\d+$/, '').split('/');
}

// Keras order of a layer's weights by role (the last name segment): some TF.js converters sort the
// manifest by name, which would put `bias` before `kernel`. Unknown roles keep their place.
const ROLE_RANK: Record<string, number> = {
  kernel: 0, depthwise_kernel: 0, pointwise_kernel: 1, recurrent_kernel: 1, bias: 2,
  gamma: 0, beta: 1, moving_mean: 2, moving_variance: 3, embeddings: 0, alpha: 0,
};

/** Sorts weights that share a path prefix by Keras role order (forward before backward for Bidirectional). */
function canonicalOrder(ws: StoredWeight[]): StoredWeight[] {
  if (ws.some((w) => ROLE_RANK[segments(w.name).at(-1)!] === undefined)) return ws;
  const prefix = (w: StoredWeight) => segments(w.name).slice(0, -1).join('/');
  const prefixes = [...new Set(ws.map(prefix))];
  const dirRank = (p: string) => (/(^|\/)backward_/.test(p) ? 1 : 0);
  prefixes.sort((a, b) => dirRank(a) - dirRank(b)); // stable: file order otherwise
  return prefixes.flatMap((p) => ws.filter((w) => prefix(w) === p).sort((a, b) => ROLE_RANK[segments(a.name).at(-1)!]! - ROLE_RANK[segments(b.name).at(-1)!]!));
}

/**
 * Picks a layer's weights by role, in Keras order: `roles` lists the roles the config implies
 * (e.g. `['kernel', 'bias']` with use_bias). Throws IMPORT_WEIGHTS when the count differs.
 */
export function pickWeights(layer: string, weights: LayerWeight[], roles: string[]): Record<string, LayerWeight> {
  if (weights.length !== roles.length) {
    throw new EnclaveNnError('IMPORT_WEIGHTS', `Cannot import layer '${layer}': expected ${roles.length} weights (${roles.join(', ')}), found ${weights.length}${weights.length ? ` (${weights.map((w) => w.name).join(', ')})` : ''}`);
  }
  return Object.fromEntries(roles.map((r, i) => [r, weights[i]!]));
}

/** Decodes float16 bits. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Splits a TF.js weights buffer (all shards of all groups, concatenated in manifest order) into
 * float32 weights, dequantizing uint8/uint16 (`q * scale + min`) and float16, widening int32.
 */
export function decodeTfjsWeights(entries: TfjsWeightEntry[], buffer: Uint8Array): StoredWeight[] {
  const out: StoredWeight[] = [];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let offset = 0;
  for (const e of entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    const q = e.quantization;
    const size = q ? (q.dtype === 'uint8' ? 1 : 2) : e.dtype === 'bool' ? 1 : 4;
    if (e.dtype === 'string' || e.dtype === 'complex64') {
      throw new EnclaveNnError('IMPORT_WEIGHTS', `Cannot import weight '${e.name}': dtype ${e.dtype} is not supported`);
    }
    if (offset + count * size > buffer.byteLength) {
      throw new EnclaveNnError('IMPORT_WEIGHTS', `Cannot import weight '${e.name}': the weight files hold ${buffer.byteLength} bytes, the manifest needs at least ${offset + count * size}`);
    }
    const data = new Float32Array(count);
    if (!q && e.dtype === 'float32') {
      // Fast path: a byte copy (little-endian float32, as the TF.js format and this host agree).
      new Uint8Array(data.buffer).set(buffer.subarray(offset, offset + count * 4));
      offset += count * 4;
      out.push({ name: e.name, shape: e.shape, data });
      continue;
    }
    for (let i = 0; i < count; i++) {
      const at = offset + i * size;
      if (q?.dtype === 'uint8') data[i] = view.getUint8(at) * q.scale! + q.min!;
      else if (q?.dtype === 'uint16') data[i] = view.getUint16(at, true) * q.scale! + q.min!;
      else if (q?.dtype === 'float16') data[i] = halfToFloat(view.getUint16(at, true));
      else if (e.dtype === 'int32') data[i] = view.getInt32(at, true);
      else if (e.dtype === 'bool') data[i] = view.getUint8(at);
      else data[i] = view.getFloat32(at, true);
    }
    offset += count * size;
    out.push({ name: e.name, shape: e.shape, data });
  }
  return out;
}
