import type { ModelProto } from 'onnx-buf';
import { EnclaveNnError } from '../errors.ts';
import { makeModel } from '../onnx/build.ts';
import type { Dim, DType, TensorSpec } from '../onnx/tensor-spec.ts';
import { GraphBuilder } from './context.ts';
import { dtypeName } from './config.ts';
import type {
  KerasFunctionalConfig, KerasInboundNode, KerasLayerConfig, KerasModelConfig, KerasSequentialConfig, KerasTensorRef,
} from './keras-format.ts';
import { converterFor } from './registry.ts';
import type { KerasFlavor, SymTensor } from './types.ts';
import { WeightStore, type StoredWeight } from './weights.ts';

type MaybeMasked = SymTensor & { mask?: string };
/** Layers that apply a Keras mask (recurrent-mask.ts). */
const MASK_CONSUMERS = new Set(['LSTM', 'GRU', 'SimpleRNN', 'RNN', 'Bidirectional']);
/** Layers that are the identity at inference and pass a mask on unchanged, as Keras does. */
const MASK_PASSTHROUGH = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization', 'Identity']);

/** A Keras model as read from any source: its config and its weights. */
export interface KerasModelSource {
  /** The model config: `{ class_name: 'Sequential' | 'Model' | 'Functional', config }`. */
  model: KerasModelConfig;
  /** Every stored weight, in file order. */
  weights: StoredWeight[];
  flavor: KerasFlavor;
  /** Recorded in the ONNX metadata: 'tfjs', 'hdf5' or 'keras'. */
  format: string;
  /** The Keras / tfjs-layers version string, when the file has one. */
  kerasVersion?: string;
}

/**
 * The flavor a Keras version string implies: `3.x` is Keras 3; a version before 2.3 (Keras with a
 * TF 1.x backend) resized bilinearly with asymmetric coordinates.
 */
export function flavorOf(version: string | undefined, tfjs: boolean): KerasFlavor {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  const major = m ? Number(m[1]) : 2;
  const minor = m ? Number(m[2]) : 99;
  return { kerasMajor: major >= 3 ? 3 : 2, tfjs, legacyResize: !tfjs && major === 2 && minor < 3 };
}

/** The ONNX opset the importer emits (LayerNormalization needs 17; GELU is built from Erf/Tanh). */
export const IMPORT_OPSET = 17;

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/**
 * Converts a Keras model to ONNX: one converter call per layer call, nested models inlined,
 * graph inputs named after the Keras input layers (batch dimension 'batch'), graph outputs after
 * the output layers. Channels-last tensors stay channels-last at every layer boundary.
 */
export function convertKerasModel(src: KerasModelSource): ModelProto {
  const g = new GraphBuilder(src.flavor);
  const store = new WeightStore(src.weights);
  const graphInputs: TensorSpec[] = [];

  const makeInput = (cfg: KerasLayerConfig, fallbackName?: string): SymTensor => {
    const c = cfg.config;
    const name = g.unique(fallbackName ?? c.name ?? cfg.name ?? 'input');
    const shape = c.batch_input_shape ?? c.batch_shape ?? (c.input_shape ? [null, ...c.input_shape] : undefined);
    if (!shape) throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: the shape of input '${name}' is not in the config`);
    const dt = dtypeName(c.dtype) ?? 'float32';
    const dtype: DType = dt === 'int32' || dt === 'int64' || dt === 'bool' ? dt : 'float32';
    graphInputs.push({ name, dtype, shape: dims(name, shape) });
    return { name, shape: [...shape], dtype };
  };

  const callLayer = (cfg: KerasLayerConfig, inputs: SymTensor[]): SymTensor[] => {
    if (MODEL_CLASSES.has(cfg.class_name)) return network(cfg as unknown as KerasModelConfig, inputs);
    const name = cfg.config.name ?? cfg.name;
    if (!name) throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: a ${cfg.class_name} layer has no name`);
    const layer = { className: cfg.class_name, name, config: cfg.config };
    const convert = converterFor(layer);
    const masked = inputs.some((t) => (t as MaybeMasked).mask);
    // A Keras mask (Embedding mask_zero, Masking) changes what later layers compute. The
    // recurrent converters apply it and identities pass it on; any other layer that receives one
    // is refused rather than converted into something that silently differs on padded inputs.
    if (masked && !MASK_CONSUMERS.has(layer.className) && !MASK_PASSTHROUGH.has(layer.className)) {
      throw new EnclaveNnError('IMPORT_MASK', `Cannot import layer '${name}' (${layer.className}): it receives a Keras mask (Embedding mask_zero), which the importer applies only in ${[...MASK_CONSUMERS].join(', ')}`);
    }
    const out = convert(inputs, store.take(name), g.context(layer));
    if (masked && MASK_PASSTHROUGH.has(layer.className)) (out[0] as MaybeMasked).mask = (inputs[0] as MaybeMasked).mask;
    return out;
  };

  const sequential = (config: KerasSequentialConfig, bound?: SymTensor[]): SymTensor[] => {
    const layers = Array.isArray(config) ? config : config.layers;
    if (layers.length === 0) throw new EnclaveNnError('IMPORT_CONFIG', 'Cannot import model: the Sequential model has no layers');
    let rest = layers;
    let cur: SymTensor;
    if (layers[0]!.class_name === 'InputLayer') {
      cur = bound?.[0] ?? makeInput(layers[0]!);
      rest = layers.slice(1);
    } else if (bound) {
      cur = bound[0]!;
    } else {
      const first = layers[0]!;
      const build = Array.isArray(config) ? undefined : config.build_input_shape;
      const own = inputConfigOf(first);
      const cfg: KerasLayerConfig = Array.isArray(build) && !own.config.batch_input_shape && !own.config.batch_shape && !own.config.input_shape
        ? { ...own, config: { ...own.config, batch_input_shape: build as (number | null)[] } } : own;
      cur = makeInput(cfg, `${first.config.name ?? first.name}_input`);
    }
    for (const l of rest) {
      const out = callLayer(l, [cur]);
      if (out.length !== 1) throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: layer '${l.config.name ?? l.name}' in a Sequential model has ${out.length} outputs`);
      cur = out[0]!;
    }
    return [cur];
  };

  const functional = (config: KerasFunctionalConfig, bound?: SymTensor[]): SymTensor[] => {
    const byName = new Map(config.layers.map((l) => [l.name ?? l.config.name!, l]));
    const tensors = new Map<string, SymTensor>();
    // tfjs-layers counts a nested model's own construction as its node 0 and does not renumber
    // references to it (Keras does): refs to such a model run one past its inbound nodes.
    const allRefs = [...config.layers.flatMap((l) => (l.inbound_nodes ?? []).flatMap(inboundRefs)), ...refList(config.output_layers)];
    const shift = new Map<string, number>();
    for (const l of config.layers) {
      const name = l.name ?? l.config.name!;
      if (MODEL_CLASSES.has(l.class_name) && allRefs.some((r) => r[0] === name && r[1] >= (l.inbound_nodes ?? []).length)) shift.set(name, 1);
    }
    const key = (r: readonly [string, number, number, ...unknown[]]) => `${r[0]}\u0000${r[1] - (shift.get(r[0]) ?? 0)}\u0000${r[2]}`;
    refList(config.input_layers).forEach((r, i) => {
      const l = byName.get(r[0]);
      if (!l) throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: input layer '${r[0]}' is not in the config`);
      tensors.set(key(r), bound?.[i] ?? makeInput(l));
    });
    const pending: { layer: KerasLayerConfig; index: number; refs: KerasTensorRef[] }[] = [];
    for (const l of config.layers) {
      if (l.class_name === 'InputLayer') continue;
      (l.inbound_nodes ?? []).forEach((n, index) => pending.push({ layer: l, index, refs: inboundRefs(n) }));
    }
    while (pending.length > 0) {
      const i = pending.findIndex((p) => p.refs.every((r) => tensors.has(key(r))));
      if (i < 0) {
        const p = pending[0]!;
        const missing = p.refs.find((r) => !tensors.has(key(r)))!;
        throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: layer '${p.layer.name ?? p.layer.config.name}' reads '${missing[0]}' (call ${missing[1]}, output ${missing[2]}), which nothing produces`);
      }
      const [p] = pending.splice(i, 1);
      const outs = callLayer(p!.layer, p!.refs.map((r) => tensors.get(key(r))!));
      const lname = p!.layer.name ?? p!.layer.config.name!;
      outs.forEach((t, j) => tensors.set(`${lname}\u0000${p!.index}\u0000${j}`, t));
    }
    return refList(config.output_layers).map((r) => {
      const t = tensors.get(key(r));
      if (!t) throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: output '${r[0]}' (call ${r[1]}, output ${r[2]}) is never computed`);
      return t;
    });
  };

  function network(model: KerasModelConfig, bound?: SymTensor[]): SymTensor[] {
    const c = model.config as KerasSequentialConfig | KerasFunctionalConfig;
    if (model.class_name === 'Sequential') return sequential(c as KerasSequentialConfig, bound);
    if (MODEL_CLASSES.has(model.class_name) && !Array.isArray(c) && 'input_layers' in c) return functional(c, bound);
    throw new EnclaveNnError('IMPORT_CONFIG', `Cannot import model: class ${model.class_name} is neither Sequential nor a functional Model`);
  }

  const outs = network(src.model);

  // Graph outputs take the output layers' names (the Keras model's interface).
  const outRefs = src.model.class_name === 'Sequential' ? null : refList((src.model.config as KerasFunctionalConfig).output_layers);
  const seqLayers = src.model.class_name === 'Sequential' ? (Array.isArray(src.model.config) ? src.model.config : (src.model.config as { layers: KerasLayerConfig[] }).layers) : [];
  const lastSeq = seqLayers.at(-1);
  const used = new Set(graphInputs.map((x) => x.name));
  const renamed = new Map<string, string>();
  const outputs: TensorSpec[] = outs.map((t, i) => {
    const base = outRefs ? (outRefs.filter((r) => r[0] === outRefs[i]![0]).length > 1 ? `${outRefs[i]![0]}_${outRefs[i]![2]}` : outRefs[i]![0])
      : (lastSeq?.config.name ?? lastSeq?.name ?? 'output');
    const name = used.has(base) ? g.unique(`${base}_output`) : base;
    used.add(name);
    // Rename the producing node's output, unless the tensor is a graph input or already an output.
    const current = renamed.get(t.name) ?? t.name;
    if (!renamed.has(t.name) && g.nodes.some((n) => n.output.includes(t.name))) {
      g.rename(t.name, name);
      renamed.set(t.name, name);
    } else {
      g.context({ className: 'Identity', name: base, config: {} }).node('Identity', [current], {}, { outputs: [name] });
    }
    return { name, dtype: t.dtype, shape: dims(name, t.shape) };
  });

  return makeModel({
    inputs: graphInputs,
    outputs,
    nodes: g.nodes,
    initializers: g.initializers,
    opset: IMPORT_OPSET,
    name: modelName(src.model) ?? 'keras_model',
    producerName: 'enclave-nn import',
    metadata: { 'enclave-nn.import.format': src.format, ...(src.kerasVersion ? { 'enclave-nn.import.keras_version': src.kerasVersion } : {}) },
  });
}

/** The layer config that declares a Sequential's input: the first layer, or (a nested model first) that model's own input. */
function inputConfigOf(layer: KerasLayerConfig): KerasLayerConfig {
  const c = layer.config;
  if (c.batch_input_shape || c.batch_shape || c.input_shape || !MODEL_CLASSES.has(layer.class_name)) return layer;
  const inner = layer.config as unknown as KerasSequentialConfig | KerasFunctionalConfig;
  if (Array.isArray(inner) || !('input_layers' in inner)) {
    const first = (Array.isArray(inner) ? inner : inner.layers)[0];
    return first ? inputConfigOf(first) : layer;
  }
  const name = refList(inner.input_layers)[0]?.[0];
  return inner.layers.find((l) => (l.name ?? l.config.name) === name) ?? layer;
}

function modelName(m: KerasModelConfig): string | undefined {
  return Array.isArray(m.config) ? undefined : (m.config as { name?: string }).name;
}

/** Keras dims → ONNX dims: a null batch is 'batch', other unknown dims get a name of their own. */
function dims(name: string, shape: (number | null)[]): Dim[] {
  return shape.map((d, i) => (d === null || d === undefined || d < 0 ? (i === 0 ? 'batch' : `${name}_d${i}`) : d));
}

/** `input_layers` / `output_layers`: a list of refs, or (Keras 3, one tensor) a single ref. */
function refList(v: KerasTensorRef[] | KerasTensorRef): KerasTensorRef[] {
  return typeof v[0] === 'string' ? [v as KerasTensorRef] : (v as KerasTensorRef[]);
}

/** The tensor refs a layer call reads: Keras 2 lists them; Keras 3 nests `__keras_tensor__` objects in `args`. */
function inboundRefs(n: KerasInboundNode): KerasTensorRef[] {
  if (Array.isArray(n)) return n.map((r) => [r[0], r[1], r[2]]);
  const out: KerasTensorRef[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) { v.forEach(walk); return; }
    if (v && typeof v === 'object') {
      const o = v as { class_name?: string; config?: { keras_history?: [string, number, number] } };
      if (o.class_name === '__keras_tensor__' && o.config?.keras_history) out.push([...o.config.keras_history]);
    }
  };
  walk(n.args);
  return out;
}
