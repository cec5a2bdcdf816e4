/**
 * The evaluator's side of the worst-case attacker (docs/attack.md §3.2): the tail's architecture
 * without its weights. Run by the evaluator, who has the model; the attacker gets only the result.
 * @module
 */
import type { ModelProto } from 'onnx-buf';
import { cloneModel, encodeModel } from '../onnx/codec.ts';
import { DTYPE_BY_ONNX, DTYPE_SIZE } from '../onnx/tensor-spec.ts';
import type { ArchitectureSkeleton } from './types.ts';

/**
 * Copies `tail` with every learned tensor (a float initializer of more than one element)
 * replaced by zeros of the same shape. Constants that define the architecture (shapes, axes,
 * indices, scalar hyper-parameters such as a HardSigmoid's slope) keep their values.
 *
 * @example
 * ```ts
 * const arch = architectureOf(split.tail); // what the 'architecture' attacker is told
 * ```
 */
export function architectureOf(tail: ModelProto): ArchitectureSkeleton {
  const m = cloneModel(tail);
  for (const t of m.graph!.initializer) {
    const dtype = DTYPE_BY_ONNX[t.dataType];
    const count = t.dims.reduce((a, b) => a * Number(b), 1);
    if ((dtype === 'float32' || dtype === 'float64' || dtype === 'float16') && count > 1) {
      t.rawData = new Uint8Array(count * DTYPE_SIZE[dtype]);
      t.floatData = [];
      t.doubleData = [];
      t.int32Data = [];
    }
  }
  return { onnx: encodeModel(m) };
}
