import { attr } from '../../onnx/build.ts';
import { activationName, configError, num, optNum } from '../config.ts';
import { pickWeights } from '../weights.ts';
import type { ConvertContext, LayerConverter, SymTensor } from '../types.ts';

/** Emits an Identity so that a layer that computes nothing still shows as a layer (ORT removes it). */
export function identity(ctx: ConvertContext, x: SymTensor): SymTensor {
  return { ...x, name: ctx.node('Identity', [x.name])[0]! };
}

function unary(ctx: ConvertContext, x: SymTensor, op: string, attrs = {}): SymTensor {
  return { ...x, name: ctx.node(op, [x.name], attrs)[0]! };
}

function mulBy(ctx: ConvertContext, x: SymTensor, gate: string, name = 'Mul'): SymTensor {
  return { ...x, name: ctx.node('Mul', [x.name, gate], {}, { name })[0]! };
}

/**
 * Applies a Keras activation by name (Keras snake_case or tfjs-layers camelCase). `linear`
 * returns `x` itself, with no node. Covers every standard Keras activation.
 */
export function applyActivation(ctx: ConvertContext, x: SymTensor, name: string): SymTensor {
  const key = name.replace(/_/g, '').toLowerCase();
  switch (key) {
    case 'linear': case 'none': return x;
    case 'relu': return unary(ctx, x, 'Relu');
    case 'relu6': return { ...x, name: ctx.node('Clip', [x.name, ctx.float('min', [0], []), ctx.float('max', [6], [])])[0]! };
    case 'elu': return unary(ctx, x, 'Elu', { alpha: attr.float(1) });
    // Keras's SELU constants are ONNX Selu's defaults.
    case 'selu': return unary(ctx, x, 'Selu');
    case 'sigmoid': return unary(ctx, x, 'Sigmoid');
    case 'tanh': return unary(ctx, x, 'Tanh');
    case 'softplus': return unary(ctx, x, 'Softplus');
    case 'softsign': return unary(ctx, x, 'Softsign');
    case 'exponential': return unary(ctx, x, 'Exp');
    case 'softmax': return unary(ctx, x, 'Softmax', { axis: attr.int(-1) });
    case 'logsoftmax': return unary(ctx, x, 'LogSoftmax', { axis: attr.int(-1) });
    case 'swish': case 'silu': return mulBy(ctx, x, ctx.node('Sigmoid', [x.name])[0]!);
    case 'hardsigmoid': return hardSigmoid(ctx, x);
    case 'hardsilu': case 'hardswish': return mulBy(ctx, x, ctx.node('HardSigmoid', [x.name], { alpha: attr.float(1 / 6), beta: attr.float(0.5) })[0]!);
    case 'leakyrelu': return unary(ctx, x, 'LeakyRelu', { alpha: attr.float(0.2) }); // keras.activations.leaky_relu default
    case 'mish': return mulBy(ctx, x, ctx.node('Tanh', [ctx.node('Softplus', [x.name])[0]!])[0]!);
    case 'gelu': return gelu(ctx, x, false);
    case 'gelunew': case 'geluapproximate': return gelu(ctx, x, true);
    default: throw configError(ctx.layer, `activation '${name}' is not supported (supported: linear, relu, relu6, elu, selu, sigmoid, hard_sigmoid, tanh, softmax, log_softmax, softplus, softsign, exponential, swish, silu, hard_silu, leaky_relu, mish, gelu)`);
  }
}

/** hard_sigmoid: Keras 2 and tfjs-layers clip 0.2x+0.5 to [0,1]; Keras 3 computes relu6(x+3)/6. */
function hardSigmoid(ctx: ConvertContext, x: SymTensor): SymTensor {
  const alpha = ctx.flavor?.kerasMajor === 3 ? 1 / 6 : 0.2;
  return unary(ctx, x, 'HardSigmoid', { alpha: attr.float(alpha), beta: attr.float(0.5) });
}

/** GELU from opset-17 ops: exact `0.5x(1+erf(x/√2))`, or the tanh approximation. */
export function gelu(ctx: ConvertContext, x: SymTensor, approximate: boolean): SymTensor {
  let inner: string;
  if (approximate) {
    const cube = ctx.node('Mul', [ctx.node('Mul', [x.name, x.name], {}, { name: 'Square' })[0]!, x.name], {}, { name: 'Cube' })[0]!;
    const poly = ctx.node('Add', [x.name, ctx.node('Mul', [cube, ctx.float('c', [0.044715], [])])[0]!])[0]!;
    inner = ctx.node('Tanh', [ctx.node('Mul', [poly, ctx.float('sqrt_2_over_pi', [Math.sqrt(2 / Math.PI)], [])])[0]!])[0]!;
  } else {
    inner = ctx.node('Erf', [ctx.node('Mul', [x.name, ctx.float('inv_sqrt2', [Math.SQRT1_2], [])])[0]!])[0]!;
  }
  const onePlus = ctx.node('Add', [inner, ctx.float('one', [1], [])])[0]!;
  const half = ctx.node('Mul', [x.name, ctx.float('half', [0.5], [])])[0]!;
  return { ...x, name: ctx.node('Mul', [half, onePlus])[0]! };
}

/** Applies a layer's `activation` config after its main op (Dense, Conv, …). */
export function applyLayerActivation(ctx: ConvertContext, x: SymTensor): SymTensor {
  const name = activationName(ctx.layer);
  if (name === 'gelu' && ctx.layer.config.activation && typeof ctx.layer.config.activation === 'object') {
    const cfg = (ctx.layer.config.activation as { config?: { approximate?: boolean } }).config;
    if (cfg?.approximate) return gelu(ctx, x, true);
  }
  return applyActivation(ctx, x, name);
}

const activationLayer: LayerConverter = ([x], _w, ctx) => {
  const y = applyLayerActivation(ctx, x!);
  return [y === x ? identity(ctx, x!) : y];
};

/** Keras ReLU: `max_value`, `negative_slope` below `threshold` (tfjs-layers: `max_value` only). */
const reluLayer: LayerConverter = ([x], _w, ctx) => {
  const maxValue = optNum(ctx.layer, 'max_value');
  const slope = num(ctx.layer, 'negative_slope', 0);
  const threshold = num(ctx.layer, 'threshold', 0);
  let y: SymTensor;
  if (threshold === 0 && slope === 0) y = unary(ctx, x!, 'Relu');
  else if (threshold === 0) y = unary(ctx, x!, 'LeakyRelu', { alpha: attr.float(slope) });
  else {
    // x >= threshold ? x : slope * (x - threshold)
    const t = ctx.float('threshold', [threshold], []);
    const below = slope === 0 ? ctx.float('zero', [0], []) : ctx.node('Mul', [ctx.node('Sub', [x!.name, t])[0]!, ctx.float('slope', [slope], [])])[0]!;
    y = { ...x!, name: ctx.node('Where', [ctx.node('GreaterOrEqual', [x!.name, t])[0]!, x!.name, below])[0]! };
  }
  if (maxValue !== undefined) y = { ...y, name: ctx.node('Min', [y.name, ctx.float('max_value', [maxValue], [])])[0]! };
  return [y];
};

const leakyReluLayer: LayerConverter = ([x], _w, ctx) => {
  const alpha = optNum(ctx.layer, 'negative_slope') ?? num(ctx.layer, 'alpha', 0.3);
  return [unary(ctx, x!, 'LeakyRelu', { alpha: attr.float(alpha) })];
};

/** PReLU: the slope has the input's shape without batch (1 along `shared_axes`), which ONNX PRelu broadcasts. */
const preluLayer: LayerConverter = ([x], weights, ctx) => {
  const { alpha } = pickWeights(ctx.layer.name, weights, ['alpha']);
  const slope = ctx.weight('alpha', alpha!.shape, alpha!.data);
  return [{ ...x!, name: ctx.node('PRelu', [x!.name, slope])[0]! }];
};

const eluLayer: LayerConverter = ([x], _w, ctx) => [unary(ctx, x!, 'Elu', { alpha: attr.float(num(ctx.layer, 'alpha', 1)) })];

const thresholdedReluLayer: LayerConverter = ([x], _w, ctx) => [unary(ctx, x!, 'ThresholdedRelu', { alpha: attr.float(num(ctx.layer, 'theta', 1)) })];

const softmaxLayer: LayerConverter = ([x], _w, ctx) => {
  const axisCfg = ctx.layer.config.axis;
  const axis = Array.isArray(axisCfg) ? axisCfg : [typeof axisCfg === 'number' ? axisCfg : -1];
  if (axis.length !== 1) throw configError(ctx.layer, 'softmax over several axes is not supported');
  return [unary(ctx, x!, 'Softmax', { axis: attr.int(axis[0] as number) })];
};

/** Activation layers. */
export const activationConverters: Record<string, LayerConverter> = {
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyReluLayer,
  PReLU: preluLayer,
  ELU: eluLayer,
  ThresholdedReLU: thresholdedReluLayer,
  Softmax: softmaxLayer,
};
