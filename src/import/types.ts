/**
 * The importer's core types: what a layer converter sees and produces. Keras layer configs are
 * on-disk shapes (snake_case, as in model.json / model_config) and live in `keras-format.ts`;
 * converters map them onto ONNX nodes through a {@link ConvertContext}.
 */
import type { DType } from '../onnx/tensor-spec.ts';
import type { AttrValue } from '../onnx/build.ts';

/** A tensor flowing between converted layers. Shapes are Keras shapes: batch first, null = unknown. */
export interface SymTensor {
  /** The ONNX tensor name. */
  name: string;
  /** Keras shape including the batch dimension (null for unknown / dynamic). Channels-last as in Keras. */
  shape: (number | null)[];
  dtype: DType;
}

/** One weight of a layer, in Keras order (the order of `layer.weights` / `weight_names`). */
export interface LayerWeight {
  /** The weight's full Keras name, e.g. `dense_1/kernel:0` or `bidirectional/forward_lstm/lstm_cell/kernel`. */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A Keras layer as stored: class name, config (snake_case), inbound nodes resolved to tensors. */
export interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
}

/**
 * What a converter uses to emit ONNX. Every node and weight it adds is named `<layer>/<part>`,
 * so the layer stays one layer for `inspect` and `split --at` (see src/split/layers.ts).
 */
export interface ConvertContext {
  /** The layer being converted. */
  readonly layer: KerasLayer;
  /** Adds a node named `<layer>/<name ?? opType>`; returns its output names (fresh unless given). */
  node(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, options?: { outputs?: string[] | number; name?: string; domain?: string }): string[];
  /** Adds a float32 initializer named `<layer>/<name>`; returns the tensor name. */
  weight(name: string, dims: number[], data: Float32Array): string;
  /** Adds an int64 constant initializer (shapes, axes, pads); returns the tensor name. */
  int64(name: string, values: number[], dims?: number[]): string;
  /** Adds a float32 scalar or vector constant; returns the tensor name. */
  float(name: string, values: number[], dims?: number[]): string;
  /** A fresh tensor name under this layer. */
  fresh(hint: string): string;
  /** Which Keras wrote the model (behaviour that changed between versions, e.g. hard_sigmoid). */
  readonly flavor?: KerasFlavor;
}

/** The producer of a Keras model, for the few layers whose meaning changed between versions. */
export interface KerasFlavor {
  /** 2 for Keras 2.x / tf.keras and tfjs-layers, 3 for Keras 3. */
  kerasMajor: 2 | 3;
  /** True when tfjs-layers itself wrote the model (its bilinear resize uses asymmetric coordinates). */
  tfjs: boolean;
  /** True for Keras < 2.3 (TF 1.x era), whose bilinear resize also used asymmetric coordinates. */
  legacyResize?: boolean;
}

/**
 * A converter: one Keras layer class → ONNX nodes. Receives the layer's input tensors and its
 * weights (Keras order), returns its output tensors with their Keras shapes.
 */
export type LayerConverter = (inputs: SymTensor[], weights: LayerWeight[], ctx: ConvertContext) => SymTensor[];

/** Thrown for a layer class with no converter; names the layer, its class and the known classes. */
export const UNSUPPORTED_LAYER = 'IMPORT_UNSUPPORTED_LAYER';
