import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';
import { encodeModel } from '../onnx/codec.ts';
import { fromOrtResults, maxAbsDiff, ORT_SESSION_OPTIONS, toOrtFeeds, type TensorData } from '../onnx/ort.ts';
import { DTYPE_BY_ONNX, DTYPE_SIZE } from '../onnx/tensor-spec.ts';
import type { GraphView } from '../onnx/graph.ts';
import { concreteDims } from '../onnx/ort.ts';

/** An onnxruntime-node session kept open for repeated timing. */
export class PublicModel {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: ModelProto | Uint8Array): Promise<PublicModel> {
    return new PublicModel(await ort.InferenceSession.create(model instanceof Uint8Array ? model : encodeModel(model), ORT_SESSION_OPTIONS));
  }

  async run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    const picked = Object.fromEntries(this.session.inputNames.map((n) => [n, feeds[n]!]));
    return fromOrtResults(await this.session.run(toOrtFeeds(picked)));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The largest difference over every output, and whether argmax labels agree (for classifiers). */
export function compareOutputs(got: Record<string, TensorData>, want: Record<string, TensorData>): { maxAbsDiff: number; labelsEqual: boolean } {
  let d = 0;
  let labelsEqual = true;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (!g) return { maxAbsDiff: Infinity, labelsEqual: false };
    d = Math.max(d, maxAbsDiff(g, w));
    const a = argmaxRows(g);
    const b = argmaxRows(w);
    if (a.join() !== b.join()) labelsEqual = false;
  }
  return { maxAbsDiff: d, labelsEqual };
}

/** Argmax over the last dimension, one label per row; a single column is thresholded at 0.5. */
export function argmaxRows(t: TensorData): number[] {
  const cols = t.dims[t.dims.length - 1] ?? 1;
  const rows = Math.max(1, t.data.length / Math.max(cols, 1));
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    if (cols === 1) {
      out.push(Number(t.data[r]) > 0.5 ? 1 : 0);
      continue;
    }
    let best = 0;
    for (let c = 1; c < cols; c++) if (Number(t.data[r * cols + c]) > Number(t.data[r * cols + best])) best = c;
    out.push(best);
  }
  return out;
}

/** Bytes of the weights a model holds. */
export function weightBytes(model: ModelProto): number {
  return model.graph!.initializer.reduce((a, t) => a + t.dims.reduce((x, d) => x * Number(d), 1) * (DTYPE_SIZE[DTYPE_BY_ONNX[t.dataType] ?? 'float32'] || 1), 0);
}

/** Bytes of the largest tensor computed by the nodes in `order[from..to)`, at batch `batch`. */
export function largestActivationBytes(view: GraphView, from: number, to: number, batch: number): number {
  let best = 0;
  for (let i = from; i < to; i++) {
    for (const o of view.order[i]!.output) {
      const t = view.typeOf(o);
      if (!t || t.shape[0] === '?*') continue;
      best = Math.max(best, concreteDims(t.shape, batch).reduce((a, b) => a * b, 1) * (DTYPE_SIZE[t.dtype] || 1));
    }
  }
  return best;
}
