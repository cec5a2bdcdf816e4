import * as ort from 'onnxruntime-node';
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';
import type { Dim, DType, TensorSpec } from './tensor-spec.ts';
import { cloneModel, encodeModel } from './codec.ts';
import { ORT_SESSION_OPTIONS } from './ort.ts';

interface OrtValueMetadata { name: string; isTensor: boolean; type?: string; shape?: (number | string | null)[] }

/**
 * Asks ONNX Runtime for the types of the given intermediate tensors: a copy of the model lists
 * them as graph outputs without types, ORT's loader runs ONNX shape inference, and the session's
 * `outputMetadata` reports what it found. Nothing is executed. Unknown dimensions become '?'.
 */
export async function inferTensorTypes(model: ModelProto, names: string[]): Promise<TensorSpec[]> {
  const copy = cloneModel(model);
  const g = copy.graph!;
  const existing = new Set(g.output.map((o) => o.name));
  for (const n of names) if (!existing.has(n)) g.output.push(create(ValueInfoProtoSchema, { name: n }));
  const session = await ort.InferenceSession.create(encodeModel(copy), ORT_SESSION_OPTIONS);
  try {
    const meta = (session as unknown as { outputMetadata: readonly OrtValueMetadata[] }).outputMetadata;
    const wanted = new Set(names);
    return meta
      .filter((m) => wanted.has(m.name) && m.isTensor && m.type)
      .map((m) => ({
        name: m.name,
        dtype: m.type as DType,
        shape: (m.shape ?? ['?*']).map((d): Dim => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d !== '' ? d : '?')),
      }));
  } finally {
    await session.release();
  }
}
