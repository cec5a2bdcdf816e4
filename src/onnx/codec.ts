import { readFileSync } from 'node:fs';
import { dirname, resolve, isAbsolute, sep } from 'node:path';
import { fromBinary, toBinary, clone, clearField } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema, type ModelProto, type GraphProto, type TensorProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';

export type { ModelProto, GraphProto, TensorProto };

/** TensorProto.DataLocation.EXTERNAL: the tensor's bytes live in a side file. */
const DATA_LOCATION_EXTERNAL = 1;

/**
 * Decodes an ONNX ModelProto from its protobuf bytes. Unknown fields are kept (the schema
 * is ONNX 1.20 on @bufbuild/protobuf v2), so decode → encode preserves what this version does
 * not know. Throws `ONNX_DECODE` naming `source` when the bytes are not a ModelProto.
 *
 * @example
 * ```ts
 * const model = decodeModel(readFileSync('mnist.onnx'), 'mnist.onnx');
 * ```
 */
export function decodeModel(bytes: Uint8Array, source = 'model'): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new EnclaveNnError('ONNX_DECODE', `Cannot read ONNX model ${source}: not a valid protobuf (${(e as Error).message})`, { cause: e });
  }
  // A protobuf decoder accepts many byte strings; a model must at least have a graph with nodes
  // or outputs and an IR version, or it is something else.
  if (!model.graph || model.irVersion === 0n || (model.graph.node.length === 0 && model.graph.output.length === 0)) {
    throw new EnclaveNnError('ONNX_DECODE', `Cannot read ONNX model ${source}: not an ONNX model (no IR version or no graph)`);
  }
  return model;
}

/** Encodes a ModelProto to protobuf bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

/** A deep copy of a model (cheap enough for split; weights are copied). */
export function cloneModel(model: ModelProto): ModelProto {
  return clone(ModelProtoSchema, model);
}

/**
 * Reads an ONNX model file. Weights kept in external data files (TensorProto.data_location =
 * EXTERNAL) are read from beside the model and inlined, so the result is self-contained and
 * encodes to one file.
 */
export function loadModelFile(path: string): ModelProto {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new EnclaveNnError('FILE_READ', `Cannot read ONNX model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  const model = decodeModel(bytes, path);
  inlineExternalData(model, dirname(path), path);
  return model;
}

/** Every TensorProto held by a graph and its subgraphs (initializers and Constant attributes). */
export function* allTensors(graph: GraphProto): Generator<TensorProto> {
  yield* graph.initializer;
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t) yield a.t;
      yield* a.tensors;
      if (a.g) yield* allTensors(a.g);
      for (const g of a.graphs) yield* allTensors(g);
    }
  }
}

function inlineExternalData(model: ModelProto, baseDir: string, source: string): void {
  if (!model.graph) return;
  const files = new Map<string, Uint8Array>();
  for (const t of allTensors(model.graph)) {
    if (t.dataLocation !== DATA_LOCATION_EXTERNAL) continue;
    const kv = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.location;
    if (!location) throw new EnclaveNnError('ONNX_EXTERNAL', `Cannot read ONNX model ${source}: tensor '${t.name}' has external data without a location`);
    // The location must stay inside the model's folder: a model file must not make us read /etc/….
    // Compare absolute paths: a relative model path ('m.onnx', dir '.') must not refuse everything.
    const root = resolve(baseDir);
    const file = resolve(root, location);
    if (isAbsolute(location) || !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
      throw new EnclaveNnError('ONNX_EXTERNAL', `Cannot read ONNX model ${source}: tensor '${t.name}' points outside the model's folder (${location})`);
    }
    let data = files.get(file);
    if (!data) {
      try {
        data = readFileSync(file);
      } catch (e) {
        throw new EnclaveNnError('ONNX_EXTERNAL', `Cannot read ONNX model ${source}: external data file ${location} for tensor '${t.name}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
      }
      files.set(file, data);
    }
    const offset = Number(kv.offset ?? 0);
    const length = kv.length !== undefined ? Number(kv.length) : data.length - offset;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > data.length) {
      throw new EnclaveNnError('ONNX_EXTERNAL', `Cannot read ONNX model ${source}: tensor '${t.name}' wants bytes ${offset}..${offset + length} of ${location}, which has ${data.length}`);
    }
    t.rawData = data.slice(offset, offset + length);
    t.externalData = [];
    // Unset rather than DEFAULT (proto2 presence): the inlined tensor encodes as if never external.
    clearField(t, TensorProtoSchema.field.dataLocation);
  }
}
