/**
 * Keras's `SeparableConv1D` as a tfjs-layers custom layer (TF.js has none). Its saved form is
 * Keras's, so that the importer treats it as the Keras layer:
 *
 * - `class_name: 'SeparableConv1D'`; config (snake_case on disk, as tfjs-layers writes every
 *   config): `filters`, `kernel_size` [k], `strides` [s], `padding` ('valid' | 'same'),
 *   `data_format` 'channels_last', `dilation_rate` [d], `depth_multiplier`, `activation`,
 *   `use_bias`, `depthwise_initializer`, `pointwise_initializer`, `bias_initializer`, and the
 *   `*_regularizer` / `*_constraint` fields (always null here);
 * - weights, in this order: `depthwise_kernel` (k, in, depth_multiplier), `pointwise_kernel`
 *   (1, in·depth_multiplier, filters), `bias` (filters) — Keras's names and shapes.
 *
 * Semantics (Keras/TensorFlow): depthwise output channel c·M + m = Σ_i x[t·s + i·d, c] ·
 * depthwise[i, c, m] over the input padded as TF's 'same' (total k_eff - 1 for stride 1; the
 * extra element at the end), then the pointwise 1×1 convolution, bias, activation.
 *
 * The depthwise step is written as k shifted slices times a [C, M] row (not with
 * tf.depthwiseConv2d), because the WASM backend has no depthwise gradient kernels; every op used
 * here has one.
 *
 * @example
 * ```ts
 * model.add(new SeparableConv1D({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }));
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { serialization } from '@tensorflow/tfjs';

/** An initializer instance (tfjs-layers does not export the class type by name). */
type Init = ReturnType<typeof tf.initializers.zeros>;

/** Constructor arguments (camelCase, as tfjs-layers passes a deserialised config). */
export interface SeparableConv1DArgs {
  /** output channels */
  filters: number;
  /** kernel length (a number or Keras's 1-tuple) */
  kernelSize: number | number[];
  /** stride @defaultValue 1 */
  strides?: number | number[];
  /** @defaultValue 'valid' */
  padding?: 'valid' | 'same';
  /** only 'channels_last' @defaultValue 'channels_last' */
  dataFormat?: 'channels_last';
  /** dilation @defaultValue 1 */
  dilationRate?: number | number[];
  /** depthwise channels per input channel @defaultValue 1 */
  depthMultiplier?: number;
  /** one of {@link ACTIVATIONS}' names @defaultValue 'linear' */
  activation?: string | null;
  /** @defaultValue true */
  useBias?: boolean;
  /** @defaultValue glorotUniform */
  depthwiseInitializer?: Init | serialization.ConfigDict;
  /** @defaultValue glorotUniform */
  pointwiseInitializer?: Init | serialization.ConfigDict;
  /** @defaultValue zeros */
  biasInitializer?: Init | serialization.ConfigDict;
  /** layer name */
  name?: string;
  /** @defaultValue true */
  trainable?: boolean;
  /** for a first layer */
  inputShape?: number[];
  /** for a first layer */
  batchInputShape?: (number | null)[];
  /** @defaultValue 'float32' */
  dtype?: 'float32';
  /** regularizers and constraints: only null is supported (Keras writes null when unset) */
  depthwiseRegularizer?: null; pointwiseRegularizer?: null; biasRegularizer?: null; activityRegularizer?: null;
  depthwiseConstraint?: null; pointwiseConstraint?: null; biasConstraint?: null;
}

/** Activations the layer applies by Keras name. */
export const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x, relu: tf.relu, relu6: tf.relu6, sigmoid: tf.sigmoid, tanh: tf.tanh, elu: tf.elu, selu: tf.selu,
  softplus: tf.softplus, softsign: (x) => tf.div(x, tf.add(tf.abs(x), 1)), softmax: (x) => tf.softmax(x),
};

const one = (v: number | number[] | undefined, dflt: number): number => (v === undefined ? dflt : Array.isArray(v) ? v[0] : v);

/** Resolves an initializer given as an instance or as a serialised {className, config}. */
function toInitializer(v: Init | serialization.ConfigDict | undefined, dflt: () => Init): Init {
  if (v === undefined || v === null) return dflt();
  if (v instanceof tf.serialization.Serializable) return v as Init;
  const { className, config } = v as { className: string; config?: serialization.ConfigDict };
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new TypeError(`Cannot create SeparableConv1D: unknown initializer ${className}`);
  return entry[1](entry[0], config ?? {}) as Init;
}

/** Serialised {className, config} of an initializer. */
function initConfig(i: Init): serialization.ConfigDict {
  return { className: i.getClassName(), config: i.getConfig() };
}

/** Keras SeparableConv1D (channels_last, 'valid' | 'same' padding). */
export class SeparableConv1D extends tf.layers.Layer {
  /** the Keras class name, used in saved configs */
  static className = 'SeparableConv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: 'valid' | 'same';
  readonly dilationRate: number;
  readonly depthMultiplier: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly depthwiseInitializer: Init;
  readonly pointwiseInitializer: Init;
  readonly biasInitializer: Init;
  private depthwise?: tf.LayerVariable;
  private pointwise?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: SeparableConv1DArgs) {
    super(args as ConstructorParameters<typeof tf.layers.Layer>[0]);
    this.filters = args.filters;
    this.kernelSize = one(args.kernelSize, 1);
    this.strides = one(args.strides, 1);
    this.padding = args.padding ?? 'valid';
    this.dilationRate = one(args.dilationRate, 1);
    this.depthMultiplier = args.depthMultiplier ?? 1;
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    if (!(this.activation in ACTIVATIONS)) throw new TypeError(`Cannot create SeparableConv1D: unsupported activation ${this.activation}`);
    if (this.padding !== 'valid' && this.padding !== 'same') throw new TypeError(`Cannot create SeparableConv1D: unsupported padding ${String(this.padding)}`);
    if (args.dataFormat !== undefined && (args.dataFormat as string) !== 'channels_last' && (args.dataFormat as string) !== 'channelsLast') throw new TypeError('Cannot create SeparableConv1D: only channels_last is supported');
    if (this.strides !== 1 && this.dilationRate !== 1) throw new TypeError('Cannot create SeparableConv1D: strides > 1 with dilation > 1 (Keras refuses it too)');
    this.depthwiseInitializer = toInitializer(args.depthwiseInitializer, () => tf.initializers.glorotUniform({}));
    this.pointwiseInitializer = toInitializer(args.pointwiseInitializer, () => tf.initializers.glorotUniform({}));
    this.biasInitializer = toInitializer(args.biasInitializer, () => tf.initializers.zeros());
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const cin = shape[shape.length - 1];
    if (cin == null) throw new TypeError('Cannot build SeparableConv1D: the channel dimension is unknown');
    // Keras's shapes: depthwise (k, in, M), pointwise (1, in·M, filters), bias (filters).
    this.depthwise = this.addWeight('depthwise_kernel', [this.kernelSize, cin, this.depthMultiplier], 'float32', this.depthwiseInitializer);
    this.pointwise = this.addWeight('pointwise_kernel', [1, cin * this.depthMultiplier, this.filters], 'float32', this.pointwiseInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', this.biasInitializer);
    this.built = true;
  }

  /** Output length for an input length (TF's rule). */
  private outLength(len: number | null): number | null {
    if (len == null) return null;
    const keff = (this.kernelSize - 1) * this.dilationRate + 1;
    return this.padding === 'same' ? Math.ceil(len / this.strides) : Math.ceil((len - keff + 1) / this.strides);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], this.outLength(s[1]), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [n, len, cin] = x.shape;
      const k = this.kernelSize, s = this.strides, d = this.dilationRate, m = this.depthMultiplier;
      const out = this.outLength(len) as number;
      // TF 'same': total = max((out-1)·s + k_eff - len, 0), the odd element goes after. For
      // stride s > 1 another s-1 zeros go after, so that every tap's window can be sliced as
      // out·s elements and decimated by a reshape (tf.stridedSlice has no gradient in TF.js).
      const total = this.padding === 'same' ? Math.max((out - 1) * s + (k - 1) * d + 1 - len, 0) : 0;
      const before = Math.floor(total / 2);
      const after = total - before + (s - 1);
      const xp = before + after > 0 ? tf.pad(x, [[0, 0], [before, after], [0, 0]]) : x;
      const dk = (this.depthwise as tf.LayerVariable).read();
      let acc: tf.Tensor | null = null;
      for (let i = 0; i < k; i++) {
        let win: tf.Tensor = tf.slice(xp, [0, i * d, 0], [n, out * s, cin]);
        if (s > 1) win = tf.reshape(tf.slice(tf.reshape(win, [n, out, s, cin]), [0, 0, 0, 0], [n, out, 1, cin]), [n, out, cin]);
        const tap = tf.reshape(tf.slice(dk, [i, 0, 0], [1, cin, m]), [cin, m]);
        const term = m === 1 ? tf.mul(win, tf.reshape(tap, [cin])) : tf.mul(tf.expandDims(win, 3), tap);
        acc = acc === null ? term : tf.add(acc, term);
      }
      const depth = tf.reshape(acc as tf.Tensor, [n * out, cin * m]);
      let y: tf.Tensor = tf.matMul(depth, tf.reshape((this.pointwise as tf.LayerVariable).read(), [cin * m, this.filters]));
      if (this.bias) y = tf.add(y, this.bias.read());
      return ACTIVATIONS[this.activation](tf.reshape(y, [n, out, this.filters]));
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [this.kernelSize],
      strides: [this.strides],
      padding: this.padding,
      dataFormat: 'channels_last',
      dilationRate: [this.dilationRate],
      depthMultiplier: this.depthMultiplier,
      activation: this.activation,
      useBias: this.useBias,
      depthwiseInitializer: initConfig(this.depthwiseInitializer),
      pointwiseInitializer: initConfig(this.pointwiseInitializer),
      biasInitializer: initConfig(this.biasInitializer),
      depthwiseRegularizer: null, pointwiseRegularizer: null, biasRegularizer: null, activityRegularizer: null,
      depthwiseConstraint: null, pointwiseConstraint: null, biasConstraint: null,
    };
  }
}

tf.serialization.registerClass(SeparableConv1D);
