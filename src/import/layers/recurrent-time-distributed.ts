/**
 * Keras TimeDistributed: applies the wrapped layer to every time step. Converted by folding time
 * into the batch ([B, T, …] → [B·T, …]), running the wrapped layer's own converter, and unfolding
 * ([B·T, …'] → [B, T, …']). Wrapped classes: those in {@link TIME_DISTRIBUTED_INNER} (Dense);
 * others are refused with a message naming them.
 */
import { attr } from '../../onnx/build.ts';
import { configError } from '../config.ts';
import type { KerasSerialized } from '../keras-format.ts';
import type { ConvertContext, KerasLayer, LayerConverter } from '../types.ts';
import { coreConverters } from './core.ts';

/** The layer classes TimeDistributed may wrap, with their converters. */
export const TIME_DISTRIBUTED_INNER: Readonly<Record<string, LayerConverter>> = {
  Dense: coreConverters.Dense!,
};

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

/** TimeDistributed(Dense): the wrapped layer's converter on [B·T, …], reshaped back to [B, T, …]. */
export const timeDistributed: LayerConverter = (inputs, weights, ctx) => {
  const v = ctx.layer.config.layer as Partial<KerasSerialized> | undefined;
  if (!v || typeof v.class_name !== 'string' || typeof v.config !== 'object' || v.config === null) {
    throw configError(ctx.layer, 'config.layer is missing or not a Keras layer config');
  }
  const convert = Object.hasOwn(TIME_DISTRIBUTED_INNER, v.class_name) ? TIME_DISTRIBUTED_INNER[v.class_name] : undefined;
  if (!convert) {
    throw configError(ctx.layer, `wrapping ${v.class_name} is not supported (supported: ${Object.keys(TIME_DISTRIBUTED_INNER).join(', ')})`);
  }
  const x = inputs[0]!;
  const rest = x.shape.slice(2);
  if (x.shape.length < 3 || rest.some((d) => d === null)) {
    throw configError(ctx.layer, `input ${x.name} has shape [${x.shape.map(String)}]; expected [batch, time, …] with known per-step dimensions`);
  }
  const flat = ctx.node('Reshape', [x.name, ctx.int64('fold_shape', [-1, ...(rest as number[])])], {}, { name: 'fold_time' })[0]!;
  const inner: KerasLayer = { className: v.class_name, name: ctx.layer.name, config: { ...v.config, name: ctx.layer.name } };
  const outs = convert([{ name: flat, shape: [null, ...rest], dtype: x.dtype }], weights, innerContext(ctx, inner));
  if (outs.length !== 1) throw configError(ctx.layer, `the wrapped ${v.class_name} has ${outs.length} outputs, expected 1`);
  const y = outs[0]!;
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
