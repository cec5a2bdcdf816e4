/**
 * Keras and TF.js on-disk shapes, as written by Keras 2.x / tf.keras (HDF5 `model_config`,
 * TF.js `modelTopology`), Keras 3 (`config.json` in a `.keras` zip) and tfjs-layers itself.
 * snake_case as on disk (STYLE.md 6); converters read layer configs through these types and the
 * small accessors in `config.ts`. Only the fields the importer reads are typed; the rest pass through.
 */

/** A serialized object: `{ class_name, config }` (Keras 3 adds `module` and `registered_name`). */
export interface KerasSerialized<C = Record<string, unknown>> {
  class_name: string;
  config: C;
  module?: string | null;
  registered_name?: string | null;
}

/**
 * A reference to a tensor in Keras 2 / TF.js inbound nodes: `[layer_name, node_index, tensor_index, kwargs?]`.
 * Keras 3 uses a `__keras_tensor__` object whose `config.keras_history` is the same triple.
 */
export type KerasTensorRef = [string, number, number, Record<string, unknown>?];

/** A Keras 3 tensor reference inside an inbound node's `args`. */
export interface Keras3TensorArg {
  class_name: '__keras_tensor__';
  config: { shape?: (number | null)[]; dtype?: string; keras_history: [string, number, number] };
}

/** A Keras 3 inbound node: the call's positional and keyword arguments. */
export interface Keras3InboundNode {
  args: unknown[];
  kwargs?: Record<string, unknown>;
}

/** One call of a layer: Keras 2 / TF.js lists its input refs, Keras 3 its arguments. */
export type KerasInboundNode = KerasTensorRef[] | Keras3InboundNode;

/** A layer entry of a model config. `name` sits beside `config` in functional models. */
export interface KerasLayerConfig extends KerasSerialized<KerasLayerArgs> {
  name?: string;
  inbound_nodes?: KerasInboundNode[];
}

/** The layer config fields shared by every layer; the rest are class specific. */
export interface KerasLayerArgs {
  name?: string;
  trainable?: boolean;
  /** Keras 2 / TF.js: the input shape including batch, on the first layer of a Sequential. */
  batch_input_shape?: (number | null)[];
  /** Keras 3 InputLayer: the input shape including batch. */
  batch_shape?: (number | null)[];
  /** TF.js: the input shape without batch. */
  input_shape?: (number | null)[];
  /** A dtype name, or a Keras 3 DTypePolicy object. */
  dtype?: string | KerasSerialized<{ name: string }>;
  [key: string]: unknown;
}

/** A functional model's config (`Model` / `Functional` in Keras 2, `Functional` in Keras 3). */
export interface KerasFunctionalConfig {
  name?: string;
  layers: KerasLayerConfig[];
  /** Keras 2: a list of refs; Keras 3: a list, or a single ref for one input. */
  input_layers: KerasTensorRef[] | KerasTensorRef;
  output_layers: KerasTensorRef[] | KerasTensorRef;
}

/** A Sequential model's config: `{ name, layers }`, or (Keras ≤ 2.2.2) the bare list of layers. */
export type KerasSequentialConfig = { name?: string; layers: KerasLayerConfig[]; build_input_shape?: unknown } | KerasLayerConfig[];

/** A model's config as stored: Sequential or functional. */
export type KerasModelConfig = KerasSerialized<KerasSequentialConfig | KerasFunctionalConfig>;

/** TF.js `modelTopology` in the layers format: the model config, plus versions. Old files may store only the model config. */
export interface TfjsModelTopology {
  class_name?: string;
  config?: KerasSequentialConfig | KerasFunctionalConfig;
  model_config?: KerasModelConfig;
  keras_version?: string;
  backend?: string;
  training_config?: unknown;
}

/** The quantization of one weight in a TF.js weights manifest: `value = q * scale + min` (uint8/uint16), or float16. */
export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: string;
}

/** One weight in a TF.js weights manifest group. */
export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  quantization?: TfjsQuantization;
}

/** One group of a TF.js weights manifest: shard files holding the concatenated weights in order. */
export interface TfjsWeightsGroup {
  paths: string[];
  weights: TfjsWeightEntry[];
}

/** A TF.js `model.json` (layers format). `format` is absent in files from TF.js < 1.0. */
export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: TfjsModelTopology | KerasModelConfig;
  weightsManifest: TfjsWeightsGroup[];
}
