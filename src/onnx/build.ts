import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema, TensorProtoSchema,
  type AttributeProto, type ModelProto, type NodeProto, type TensorProto,
} from 'onnx-buf';
import { ONNX_BY_DTYPE, type DType, type TensorSpec } from './tensor-spec.ts';
import { valueInfoFromSpec } from './types.ts';

/**
 * A small builder for ONNX models: used by tests (models made in code) and by the Keras
 * importer. Attribute values are tagged so that `1` and `1.0` are never confused.
 *
 * @example
 * ```ts
 * const model = makeModel({
 *   inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
 *   outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }],
 *   initializers: [tensor('w', 'float32', [4, 2], new Float32Array(8))],
 *   nodes: [node('MatMul', ['x', 'w'], ['y'], {}, 'dense/MatMul')],
 * });
 * ```
 */
export type AttrValue =
  | { int: number } | { float: number } | { string: string } | { ints: number[] } | { floats: number[] }
  | { strings: string[] } | { tensor: TensorProto };

/** Tagged attribute constructors. */
export const attr = {
  int: (v: number): AttrValue => ({ int: v }),
  float: (v: number): AttrValue => ({ float: v }),
  string: (v: string): AttrValue => ({ string: v }),
  ints: (v: number[]): AttrValue => ({ ints: v }),
  floats: (v: number[]): AttrValue => ({ floats: v }),
  strings: (v: string[]): AttrValue => ({ strings: v }),
  tensor: (v: TensorProto): AttrValue => ({ tensor: v }),
};

function makeAttribute(name: string, v: AttrValue): AttributeProto {
  // AttributeProto.AttributeType: FLOAT=1 INT=2 STRING=3 TENSOR=4 FLOATS=6 INTS=7 STRINGS=8.
  if ('int' in v) return create(AttributeProtoSchema, { name, type: 2, i: BigInt(v.int) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: 1, f: v.float });
  if ('string' in v) return create(AttributeProtoSchema, { name, type: 3, s: new TextEncoder().encode(v.string) });
  if ('ints' in v) return create(AttributeProtoSchema, { name, type: 7, ints: v.ints.map(BigInt) });
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: 6, floats: v.floats });
  if ('strings' in v) return create(AttributeProtoSchema, { name, type: 8, strings: v.strings.map((s) => new TextEncoder().encode(s)) });
  return create(AttributeProtoSchema, { name, type: 4, t: v.tensor });
}

/** A node. `name` defaults to `<opType>_<first output>`. */
export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string, domain = ''): NodeProto {
  return create(NodeProtoSchema, {
    opType, input: inputs, output: outputs, name: name ?? `${opType}_${outputs[0]}`, domain,
    attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
  });
}

type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array;

/** An initializer (or Constant value) with little-endian raw data. */
export function tensor(name: string, dtype: DType, dims: number[], data: TypedData | number[]): TensorProto {
  let typed: TypedData;
  if (Array.isArray(data)) {
    typed = dtype === 'int64' ? BigInt64Array.from(data.map(BigInt)) : dtype === 'int32' ? Int32Array.from(data)
      : dtype === 'float64' ? Float64Array.from(data) : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(data) : Float32Array.from(data);
  } else {
    typed = data;
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (typed.length !== count) throw new RangeError(`tensor ${name}: ${typed.length} values for dims [${dims}] (${count})`);
  const raw = new Uint8Array(typed.byteLength);
  raw.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
  return create(TensorProtoSchema, { name, dataType: ONNX_BY_DTYPE[dtype], dims: dims.map(BigInt), rawData: raw });
}

/** Options of {@link makeModel}. */
export interface MakeModelOptions {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  nodes: NodeProto[];
  initializers?: TensorProto[];
  valueInfo?: TensorSpec[];
  /** @defaultValue 17 */
  opset?: number;
  /** @defaultValue 8 */
  irVersion?: number;
  /** @defaultValue 'model' */
  name?: string;
  producerName?: string;
  metadata?: Record<string, string>;
}

/** Assembles a ModelProto. */
export function makeModel(o: MakeModelOptions): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(o.irVersion ?? 8),
    producerName: o.producerName ?? 'enclave-nn',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(o.opset ?? 17) })],
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    graph: create(GraphProtoSchema, {
      name: o.name ?? 'model',
      input: o.inputs.map(valueInfoFromSpec),
      output: o.outputs.map(valueInfoFromSpec),
      node: o.nodes,
      initializer: o.initializers ?? [],
      valueInfo: (o.valueInfo ?? []).map(valueInfoFromSpec),
    }),
  });
}
