/**
 * Keras TimeDistributed: applies the wrapped layer to every time step.
 *
 * Dense acts on the last axis of any rank, so TimeDistributed(Dense) is the Dense converter on
 * [B, T, …] unchanged. Any other wrapped layer is converted by folding time into the batch
 * ([B, T, …] → [B·T, …]), running the wrapped layer's own converter, and unfolding
 * ([B·T, …'] → [B, T, …']); that needs the per-step dimensions to be known. Wrapped classes are
 * the single-input layers of the core, activation, convolution, pooling, normalization and
 * reshaping tables ({@link timeDistributedInner}); others are refused with a message naming them.
 */
import { attr } from '../../onnx/build.ts';
import { configError } from '../config.ts';
import type { KerasSerialized } from '../keras-format.ts';
import type { ConvertContext, KerasLayer, LayerConverter } from '../types.ts';
import { activationConverters } from './activations.ts';
import { convConverters } from './conv.ts';
import { coreConverters } from './core.ts';
import { normalizationConverters } from './normalization.ts';
import { poolingConverters } from './pooling.ts';
import { reshapingConverters } from './reshaping.ts';

/** Classes that act on the last axis alone: applied to [B, T, …] directly, no folding. */
const LAST_AXIS = new Set(['Dense']);

/** Classes that make no sense inside TimeDistributed. */
const NOT_WRAPPABLE = new Set(['InputLayer', 'Embedding']);

/** The converter TimeDistributed uses for a wrapped class, or undefined when it cannot wrap it. */
export function timeDistributedInner(className: string): LayerConverter | undefined {
  if (NOT_WRAPPABLE.has(className)) return undefined;
  for (const table of [coreConverters, activationConverters, convConverters, poolingConverters, normalizationConverters, reshapingConverters]) {
    if (Object.hasOwn(table, className)) return table[className];
  }
  return undefined;
}

/** The classes TimeDistributed can wrap, sorted. */
export function timeDistributedClasses(): string[] {
  return [coreConverters, activationConverters, convConverters, poolingConverters, normalizationConverters, reshapingConverters]
    .flatMap((t) => Object.keys(t)).filter((c) => !NOT_WRAPPABLE.has(c)).sort();
}

/** A context that emits under the wrapper's name but shows the wrapped layer's class and config. */
function innerContext(ctx: ConvertContext, layer: KerasLayer): ConvertContext {
  return {
    layer,
    flavor: ctx.flavor,
    node: (...a) => ctx.node(...a),
    weight: (...a) => ctx.weight(...a),
    int64: (...a) => ctx.int64(...a),
    float: (...a) => ctx.float(...a),
    fresh: (...a) => ctx.fresh(...a),
  };
}

/** TimeDistributed over a single-input layer (see the module comment). */
export const timeDistributed: LayerConverter = (inputs, weights, ctx) => {
  const v = ctx.layer.config.layer as Partial<KerasSerialized> | undefined;
  if (!v || typeof v.class_name !== 'string' || typeof v.config !== 'object' || v.config === null) {
    throw configError(ctx.layer, 'config.layer is missing or not a Keras layer config');
  }
  const convert = timeDistributedInner(v.class_name);
  if (!convert) throw configError(ctx.layer, `wrapping ${v.class_name} is not supported (supported: ${timeDistributedClasses().join(', ')})`);
  const x = inputs[0]!;
  if (x.shape.length < 3) throw configError(ctx.layer, `input ${x.name} has shape [${x.shape.map(String)}]; expected [batch, time, …]`);
  const inner = innerContext(ctx, { className: v.class_name, name: ctx.layer.name, config: { ...v.config, name: ctx.layer.name } });
  const run = (t: typeof x) => {
    const outs = convert([t], weights, inner);
    if (outs.length !== 1) throw configError(ctx.layer, `the wrapped ${v.class_name} has ${outs.length} outputs, expected 1`);
    return outs[0]!;
  };
  if (LAST_AXIS.has(v.class_name)) return [run(x)];

  const rest = x.shape.slice(2);
  if (rest.some((d) => d === null)) throw configError(ctx.layer, `input ${x.name} has shape [${x.shape.map(String)}]; wrapping ${v.class_name} needs known per-step dimensions`);
  const flat = ctx.node('Reshape', [x.name, ctx.int64('fold_shape', [-1, ...(rest as number[])])], {}, { name: 'fold_time' })[0]!;
  const y = run({ name: flat, shape: [null, ...rest], dtype: x.dtype });
  const outRest = y.shape.slice(1);
  if (outRest.some((d) => d === null)) throw configError(ctx.layer, `the wrapped ${v.class_name} has an unknown per-step output shape [${y.shape.map(String)}]`);
  const T = x.shape[1] ?? null;
  let shape: string;
  if (T !== null) {
    shape = ctx.int64('unfold_shape', [-1, T, ...(outRest as number[])]);
  } else {
    // Unknown time length: [B, T] from the input's shape, then the per-step output shape.
    const bt = ctx.node('Shape', [x.name], { start: attr.int(0), end: attr.int(2) }, { name: 'batch_time' })[0]!;
    shape = ctx.node('Concat', [bt, ctx.int64('step_shape', outRest as number[])], { axis: attr.int(0) }, { name: 'unfold_shape' })[0]!;
  }
  const out = ctx.node('Reshape', [y.name, shape], {}, { name: 'unfold_time' })[0]!;
  return [{ name: out, shape: [x.shape[0] ?? null, T, ...outRest], dtype: y.dtype }];
};
