/**
 * The inference request and response bodies of the Open Inference Protocol (docs/serve.md §3):
 * JSON tensors, and the binary tensor data extension (JSON header of
 * `Inference-Header-Content-Length` bytes, then each binary tensor in order). Decoding checks
 * every input against the model's public inputs — name, datatype, shape, element count and
 * element values — so that a refused request never reaches the head or the enclave.
 */
import { EnclaveNnError } from '../errors.ts';
import type { TensorData } from '../onnx/ort.ts';
import { DTYPE_SIZE, type Dim, type TensorSpec } from '../onnx/tensor-spec.ts';
import { arrayOf, HOST_LITTLE_ENDIAN, OIP_DATATYPE } from './datatypes.ts';

/** A decoded, checked inference request. */
export interface InferRequest {
  /** The request's `id`, echoed in the response. */
  id?: string;
  /** One tensor per model input, checked against the model's inputs. */
  feeds: Record<string, TensorData>;
  /** Samples in the request: the first dimension (what the license counts). */
  samples: number;
  /** The outputs asked for (`outputs`), each with whether it returns as binary data; undefined = all. */
  outputs?: { name: string; binary: boolean }[];
  /** `parameters.binary_data_output`: every output not named otherwise returns as binary data. */
  binaryOutput: boolean;
}

/** An encoded response body and its content headers. */
export interface EncodedBody {
  body: Uint8Array;
  headers: Record<string, string>;
}

const utf8 = new TextEncoder();

/** Throws the protocol's 400 refusal (docs/serve.md §4). */
export function badRequest(message: string): never {
  throw new EnclaveNnError('SERVE_BAD_REQUEST', message);
}

/** The protocol's shape of a spec: variable-size dimensions are -1 (model metadata). */
export function oipShape(shape: readonly Dim[]): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : -1));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes and checks an inference request body. `headerLength` is the
 * `Inference-Header-Content-Length` header (binary extension) or undefined for a JSON body.
 *
 * @example
 * ```ts
 * const r = decodeInferRequest(utf8('{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}'), undefined, model);
 * ```
 */
export function decodeInferRequest(body: Uint8Array, headerLength: string | undefined, model: { inputs: readonly TensorSpec[]; outputs: readonly string[] }): InferRequest {
  let jsonEnd = body.byteLength;
  if (headerLength !== undefined) {
    if (!HOST_LITTLE_ENDIAN) badRequest('Cannot read binary tensor data: this server runs on a big-endian host');
    const n = Number(headerLength);
    if (!/^\d+$/.test(headerLength.trim()) || n > body.byteLength) badRequest(`Cannot read request: Inference-Header-Content-Length ${headerLength} is not a byte count within the ${body.byteLength}-byte body`);
    jsonEnd = n;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, jsonEnd)));
  } catch (e) {
    badRequest(`Cannot read request: the body is not JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) badRequest('Cannot read request: the inference request must be a JSON object');
  if (json.id !== undefined && typeof json.id !== 'string') badRequest('Cannot read request: "id" must be a string');
  const params = json.parameters === undefined ? {} : json.parameters;
  if (!isObject(params)) badRequest('Cannot read request: "parameters" must be an object');
  if (params.binary_data_output !== undefined && typeof params.binary_data_output !== 'boolean') badRequest('Cannot read request: parameter "binary_data_output" must be a boolean');
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) badRequest('Cannot read request: "inputs" must be a non-empty array');

  const binary = body.subarray(jsonEnd);
  let cursor = 0;
  const feeds: Record<string, TensorData> = {};
  for (const input of json.inputs as unknown[]) {
    if (!isObject(input) || typeof input.name !== 'string') badRequest('Cannot read request: each input needs a "name" string');
    const name = input.name;
    const spec = model.inputs.find((s) => s.name === name);
    if (!spec) badRequest(`Cannot run inference: unknown input '${name}'; inputs: ${model.inputs.map((s) => s.name).join(', ')}`);
    if (feeds[name]) badRequest(`Cannot run inference: input '${name}' is given twice`);
    const want = OIP_DATATYPE[spec.dtype];
    if (input.datatype !== want) badRequest(`Cannot run inference: input '${name}' has datatype ${String(input.datatype)}, expected ${want}`);
    const Arr = arrayOf(spec.dtype);
    if (!Arr) badRequest(`Cannot run inference: input '${name}' is ${want}, which this server does not carry`);
    const dims = checkShape(name, input.shape, spec.shape);
    const count = dims.reduce((a, b) => a * b, 1);
    const p = input.parameters === undefined ? {} : input.parameters;
    if (!isObject(p)) badRequest(`Cannot read request: input '${name}' "parameters" must be an object`);
    let data: TensorData['data'];
    if (p.binary_data_size !== undefined) {
      // Binary extension: the tensor's bytes follow the JSON header, in input order.
      if (headerLength === undefined) badRequest(`Cannot read request: input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (input.data !== undefined) badRequest(`Cannot read request: input '${name}' has both "data" and binary_data_size`);
      const size = p.binary_data_size;
      const expected = count * DTYPE_SIZE[spec.dtype];
      if (typeof size !== 'number' || size !== expected) badRequest(`Cannot run inference: input '${name}' binary_data_size is ${String(size)}, its shape [${dims.join(',')}] of ${want} needs ${expected} bytes`);
      if (cursor + size > binary.byteLength) badRequest(`Cannot read request: input '${name}' needs ${size} bytes of binary data, ${binary.byteLength - cursor} remain in the body`);
      const copy = new Uint8Array(size); // aligned for the typed array view
      copy.set(binary.subarray(cursor, cursor + size));
      cursor += size;
      data = new Arr(copy.buffer, 0, count);
      if (spec.dtype === 'bool' && (data as Uint8Array).some((v) => v > 1)) badRequest(`Cannot run inference: input '${name}' BOOL bytes must be 0 or 1`);
    } else {
      data = fromJson(name, spec, input.data, count, Arr);
    }
    feeds[name] = { dtype: spec.dtype, dims, data };
  }
  if (cursor !== binary.byteLength) badRequest(`Cannot read request: ${binary.byteLength - cursor} bytes after the JSON header belong to no input`);
  for (const s of model.inputs) if (!feeds[s.name]) badRequest(`Cannot run inference: input '${s.name}' (${OIP_DATATYPE[s.dtype]} ${JSON.stringify(oipShape(s.shape))}) is missing`);

  let outputs: InferRequest['outputs'];
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) badRequest('Cannot read request: "outputs" must be an array');
    outputs = (json.outputs as unknown[]).map((o) => {
      if (!isObject(o) || typeof o.name !== 'string') badRequest('Cannot read request: each requested output needs a "name" string');
      if (!model.outputs.includes(o.name)) badRequest(`Cannot run inference: unknown output '${o.name}'; outputs: ${model.outputs.join(', ')}`);
      const op = o.parameters === undefined ? {} : o.parameters;
      if (!isObject(op) || (op.binary_data !== undefined && typeof op.binary_data !== 'boolean')) badRequest(`Cannot read request: output '${o.name}' parameter "binary_data" must be a boolean`);
      return { name: o.name, binary: (op.binary_data as boolean | undefined) ?? params.binary_data_output === true };
    });
  }
  // One batch size per request: inputs sharing a variable dimension's name agree on its size
  // (else the batch could not be concatenated with others, and the runtime would refuse it whole).
  const sizes = new Map<string, number>();
  for (const s of model.inputs) {
    s.shape.forEach((d, i) => {
      if (typeof d !== 'string') return;
      const n = feeds[s.name]!.dims[i]!;
      const seen = sizes.get(d);
      if (seen !== undefined && seen !== n) badRequest(`Cannot run inference: input '${s.name}' has ${n} along '${d}', another input has ${seen}`);
      sizes.set(d, n);
    });
  }
  const first = Object.values(feeds).find((t) => t.dims.length > 0);
  return { ...(json.id !== undefined ? { id: json.id } : {}), feeds, samples: first ? first.dims[0]! : 1, ...(outputs ? { outputs } : {}), binaryOutput: params.binary_data_output === true };
}

function checkShape(name: string, shape: unknown, spec: readonly Dim[]): number[] {
  const want = JSON.stringify(oipShape(spec));
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) badRequest(`Cannot read request: input '${name}' "shape" must be an array of non-negative integers`);
  const dims = shape as number[];
  const ok = dims.length === spec.length && spec.every((d, i) => (typeof d === 'number' ? dims[i] === d : dims[i]! >= 1));
  if (!ok) badRequest(`Cannot run inference: input '${name}' has shape ${JSON.stringify(dims)}, expected ${want}`);
  return dims;
}

function fromJson(name: string, spec: TensorSpec, data: unknown, count: number, Arr: NonNullable<ReturnType<typeof arrayOf>>): TensorData['data'] {
  if (!Array.isArray(data)) badRequest(`Cannot read request: input '${name}' needs "data" (an array) or binary_data_size`);
  const flat = (data as unknown[]).flat(Infinity);
  if (flat.length !== count) badRequest(`Cannot run inference: input '${name}' has ${flat.length} values, its shape needs ${count}`);
  const out = new Arr(count);
  const dt = spec.dtype;
  const bits = DTYPE_SIZE[dt] * 8;
  for (let i = 0; i < count; i++) {
    const v = flat[i];
    if (dt === 'float32' || dt === 'float64') {
      if (typeof v !== 'number') badRequest(`Cannot run inference: input '${name}' value ${i} is not a number`);
      out[i] = v;
    } else if (dt === 'bool') {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) badRequest(`Cannot run inference: input '${name}' value ${i} is not a boolean`);
      out[i] = v ? 1 : 0;
    } else {
      const signed = dt.startsWith('int');
      const min = signed ? -(2 ** (bits - 1)) : 0;
      const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      // JSON numbers are doubles: an integer beyond 2^53 has already lost digits, so it is refused.
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
        badRequest(`Cannot run inference: input '${name}' value ${i} is not a ${OIP_DATATYPE[dt]} integer${bits === 64 ? ' within ±2^53 (send larger values as binary data)' : ''}`);
      }
      out[i] = bits === 64 ? BigInt(v) as never : v;
    }
  }
  return out;
}

/**
 * Encodes an inference response: JSON, or — when any output is asked as binary data — the JSON
 * header followed by the binary tensors, with `Inference-Header-Content-Length`.
 */
export function encodeInferResponse(o: { modelName: string; request: InferRequest; outputs: Record<string, TensorData> }): EncodedBody {
  const wanted = o.request.outputs ?? Object.keys(o.outputs).map((name) => ({ name, binary: o.request.binaryOutput }));
  const parts: string[] = [];
  const blobs: Uint8Array[] = [];
  for (const { name, binary } of wanted) {
    const t = o.outputs[name];
    if (!t) throw new EnclaveNnError('SERVE_OUTPUT', `Cannot answer: output '${name}' was not produced`, { exitCode: 1 });
    const head = `{"name":${JSON.stringify(name)},"datatype":${JSON.stringify(OIP_DATATYPE[t.dtype])},"shape":${JSON.stringify(t.dims)}`;
    if (binary) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      blobs.push(bytes);
      parts.push(`${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`);
    } else {
      parts.push(`${head},"data":[${jsonValues(t)}]}`);
    }
  }
  const id = o.request.id !== undefined ? `,"id":${JSON.stringify(o.request.id)}` : '';
  const json = utf8.encode(`{"model_name":${JSON.stringify(o.modelName)}${id},"outputs":[${parts.join(',')}]}`);
  if (blobs.length === 0) return { body: json, headers: { 'content-type': 'application/json' } };
  const body = new Uint8Array(json.byteLength + blobs.reduce((a, b) => a + b.byteLength, 0));
  body.set(json);
  let at = json.byteLength;
  for (const b of blobs) { body.set(b, at); at += b.byteLength; }
  return { body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) } };
}

/**
 * Values as JSON text, flattened (row-major). 64-bit integers are written as exact digits
 * (JSON numbers have no size limit); non-finite floats, which JSON cannot spell, become null.
 */
function jsonValues(t: TensorData): string {
  if (t.dtype === 'bool') return Array.from(t.data as Uint8Array, (v) => (v ? 'true' : 'false')).join(',');
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : Number.isFinite(v) ? String(v) : 'null')).join(',');
}
