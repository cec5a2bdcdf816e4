import { create, fromBinary } from '@bufbuild/protobuf';
import { TensorProtoSchema, type TensorProto, type TypeProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from './ort.ts';
import { DTYPE_BY_ONNX, DTYPE_SIZE, ONNX_BY_DTYPE, type DType } from './tensor-spec.ts';

/** A string tensor: {@link TensorData} holds only numeric data, ONNX also has STRING tensors. */
export interface StringTensorData {
  dtype: 'string';
  dims: number[];
  data: string[];
}

/** Any tensor a TensorProto can hold that onnxruntime-node can take: numeric or string. */
export type AnyTensorData = TensorData | StringTensorData;

/**
 * What {@link decodeTensorFile} found: a tensor; a value that is not a tensor (sequence, optional,
 * map); or a tensor of an element type outside {@link DType} (float8, int4, complex, …).
 */
export type TensorFile =
  | { kind: 'tensor'; name: string; tensor: AnyTensorData }
  | { kind: 'non-tensor'; reason: string }
  | { kind: 'unsupported-dtype'; dataType: number; reason: string };

/** TensorProto.DataLocation.EXTERNAL. */
const DATA_LOCATION_EXTERNAL = 1;

/** The largest TensorProto.DataType in ONNX 1.20 (FLOAT8E8M0 = 24, UINT2 = 25, INT2 = 26). */
const MAX_ONNX_DATA_TYPE = 26;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type NumericDType = Exclude<DType, 'string'>;

function allocate(dtype: NumericDType, count: number): TensorData['data'] {
  switch (dtype) {
    case 'float32': return new Float32Array(count);
    case 'float64': return new Float64Array(count);
    case 'int8': return new Int8Array(count);
    case 'int16': return new Int16Array(count);
    case 'int32': return new Int32Array(count);
    case 'int64': return new BigInt64Array(count);
    case 'uint8': case 'bool': return new Uint8Array(count);
    // (b)float16 are carried as their bit patterns, as onnxruntime-node's Tensor takes them.
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(count);
    case 'uint32': return new Uint32Array(count);
    case 'uint64': return new BigUint64Array(count);
  }
}

function fail(t: TensorProto, why: string): never {
  throw new EnclaveNnError('ONNX_TENSOR', `Cannot read tensor '${t.name}': ${why}`);
}

/**
 * Reads a TensorProto's values (ONNX onnx.proto3, message TensorProto). `raw_data` is read as
 * little-endian for every numeric type; otherwise the typed field the spec assigns to the type:
 * float_data (FLOAT), double_data (DOUBLE), int64_data (INT64), uint64_data (UINT32, UINT64),
 * int32_data (INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16; the 16-bit floats as
 * their bit patterns), string_data (STRING, UTF-8). Throws `ONNX_TENSOR` for a type outside
 * {@link DType}, external data (inline it first: `loadModelFile`), or a value count that does
 * not match the dims.
 *
 * @example
 * ```ts
 * const w = tensorFromProto(model.graph!.initializer[0]!); // { dtype: 'float32', dims: [4, 2], data: Float32Array(8) }
 * ```
 */
export function tensorFromProto(t: TensorProto): AnyTensorData {
  const dtype = DTYPE_BY_ONNX[t.dataType];
  if (!dtype) fail(t, `data type ${t.dataType} is not supported`);
  if (t.dataLocation === DATA_LOCATION_EXTERNAL) fail(t, 'its data is in an external file (load the model with loadModelFile)');
  if (t.segment) fail(t, 'segmented tensors are not supported');
  const dims = t.dims.map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(t, `bad dims [${dims}]`);
  const count = dims.reduce((a, b) => a * b, 1);

  if (dtype === 'string') {
    if (t.stringData.length !== count) fail(t, `${t.stringData.length} strings for dims [${dims}]`);
    const dec = new TextDecoder('utf-8', { fatal: false });
    return { dtype, dims, data: t.stringData.map((s) => dec.decode(s)) };
  }

  const data = allocate(dtype, count);
  if (t.rawData.length > 0) {
    const size = DTYPE_SIZE[dtype];
    if (t.rawData.length !== count * size) fail(t, `raw_data has ${t.rawData.length} bytes, dims [${dims}] of ${dtype} need ${count * size}`);
    readLittleEndian(t.rawData, data);
    return { dtype, dims, data } as TensorData;
  }

  const typed: readonly (number | bigint)[] = typedField(t, dtype);
  if (typed.length !== count) fail(t, `${typed.length} values for dims [${dims}] (${count})`);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = BigInt(typed[i]!);
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    for (let i = 0; i < count; i++) data[i] = Number(typed[i]) & 0xffff;
  } else {
    // Typed-array stores convert (wrap) exactly as C casts do: int32_data of a UINT8 tensor holds 0..255.
    for (let i = 0; i < count; i++) data[i] = Number(typed[i]);
  }
  return { dtype, dims, data } as TensorData;
}

/** The typed field that holds a type's values when raw_data is empty (onnx.proto3, TensorProto). */
function typedField(t: TensorProto, dtype: NumericDType): readonly (number | bigint)[] {
  switch (dtype) {
    case 'float32': return t.floatData;
    case 'float64': return t.doubleData;
    case 'int64': return t.int64Data;
    case 'uint32': case 'uint64': return t.uint64Data;
    default: return t.int32Data;
  }
}

function readLittleEndian(raw: Uint8Array, out: TensorData['data']): void {
  if (LITTLE_ENDIAN_HOST) {
    // Copy: raw_data's offset is not necessarily aligned for the typed view.
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
    return;
  }
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = out.length;
  for (let i = 0; i < n; i++) {
    if (out instanceof Float32Array) out[i] = v.getFloat32(i * 4, true);
    else if (out instanceof Float64Array) out[i] = v.getFloat64(i * 8, true);
    else if (out instanceof BigInt64Array) out[i] = v.getBigInt64(i * 8, true);
    else if (out instanceof BigUint64Array) out[i] = v.getBigUint64(i * 8, true);
    else if (out instanceof Int32Array) out[i] = v.getInt32(i * 4, true);
    else if (out instanceof Uint32Array) out[i] = v.getUint32(i * 4, true);
    else if (out instanceof Int16Array) out[i] = v.getInt16(i * 2, true);
    else if (out instanceof Uint16Array) out[i] = v.getUint16(i * 2, true);
    else out[i] = raw[i]!;
  }
}

/**
 * Builds a TensorProto: numeric values as little-endian raw_data, strings as string_data.
 *
 * @example
 * ```ts
 * const t = tensorToProto('x', { dtype: 'int64', dims: [2], data: BigInt64Array.from([1n, 2n]) });
 * ```
 */
export function tensorToProto(name: string, value: AnyTensorData): TensorProto {
  const dataType = ONNX_BY_DTYPE[value.dtype];
  const dims = value.dims.map(BigInt);
  const count = value.dims.reduce((a, b) => a * b, 1);
  if (value.data.length !== count) throw new RangeError(`tensorToProto ${name}: ${value.data.length} values for dims [${value.dims}]`);
  if (value.dtype === 'string') {
    const enc = new TextEncoder();
    return create(TensorProtoSchema, { name, dataType, dims, stringData: (value.data as string[]).map((s) => enc.encode(s)) });
  }
  const data = value.data as TensorData['data'];
  const rawData = new Uint8Array(data.byteLength);
  if (LITTLE_ENDIAN_HOST) {
    rawData.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else {
    const v = new DataView(rawData.buffer);
    const size = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < data.length; i++) {
      if (data instanceof Float32Array) v.setFloat32(i * 4, data[i]!, true);
      else if (data instanceof Float64Array) v.setFloat64(i * 8, data[i]!, true);
      else if (data instanceof BigInt64Array) v.setBigInt64(i * 8, data[i]!, true);
      else if (data instanceof BigUint64Array) v.setBigUint64(i * 8, data[i]!, true);
      else if (size === 4) v.setUint32(i * 4, Number(data[i]) >>> 0, true);
      else if (size === 2) v.setUint16(i * 2, Number(data[i]) & 0xffff, true);
      else rawData[i] = Number(data[i]) & 0xff;
    }
  }
  return create(TensorProtoSchema, { name, dataType, dims, rawData });
}

/**
 * Reads a serialized TensorProto file, as the ONNX backend tests store their
 * `test_data_set_N/input_N.pb` and `output_N.pb`. Some of those files hold a SequenceProto,
 * OptionalProto or MapProto instead (onnx-data.proto): these are reported as `non-tensor`
 * so a caller can skip them with that reason. When the graph's declared type of the value is
 * known, pass it as `expected`: it decides; otherwise the bytes must decode as a TensorProto
 * whose value count matches its dims. Throws `ONNX_DECODE` naming `source` when the bytes are not
 * a protobuf at all.
 *
 * @example
 * ```ts
 * const f = decodeTensorFile(readFileSync('test_data_set_0/input_0.pb'), 'input_0.pb');
 * if (f.kind === 'tensor') feeds[f.name] = f.tensor;
 * ```
 */
export function decodeTensorFile(bytes: Uint8Array, source = 'tensor file', expected?: TypeProto): TensorFile {
  if (expected && expected.value.case !== 'tensorType') {
    return { kind: 'non-tensor', reason: `${source} holds a ${expected.value.case ?? 'untyped'} value, not a tensor` };
  }
  const expectedType = expected?.value.case === 'tensorType' ? expected.value.value.elemType : undefined;
  if (expectedType !== undefined && expectedType !== 0 && !DTYPE_BY_ONNX[expectedType]) {
    return { kind: 'unsupported-dtype', dataType: expectedType, reason: `${source} holds ONNX data type ${expectedType}, which has no dtype here` };
  }
  let t: TensorProto;
  try {
    t = fromBinary(TensorProtoSchema, bytes);
  } catch (e) {
    if (expected) throw new EnclaveNnError('ONNX_DECODE', `Cannot read tensor file ${source}: not a valid protobuf (${(e as Error).message})`, { cause: e });
    // A SequenceProto's fields can clash with TensorProto's wire types.
    return { kind: 'non-tensor', reason: `${source} does not decode as a TensorProto (${(e as Error).message})` };
  }
  if (!expected && t.dataType > 0 && t.dataType <= MAX_ONNX_DATA_TYPE && !DTYPE_BY_ONNX[t.dataType] && !t.segment) {
    return { kind: 'unsupported-dtype', dataType: t.dataType, reason: `${source} holds ONNX data type ${t.dataType}, which has no dtype here` };
  }
  try {
    return { kind: 'tensor', name: t.name, tensor: tensorFromProto(t) };
  } catch (e) {
    if (expected) throw new EnclaveNnError('ONNX_DECODE', `Cannot read tensor file ${source}: ${(e as Error).message}`, { cause: e });
    return { kind: 'non-tensor', reason: `${source} is not a consistent TensorProto (${(e as Error).message})` };
  }
}
