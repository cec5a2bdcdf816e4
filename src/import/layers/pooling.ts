import { attr } from '../../onnx/build.ts';
import { bool, channelsLast, configError, str, tuple } from '../config.ts';
import type { LayerConverter } from '../types.ts';
import { padAttrs, spatialPad, toChannelsFirst, toChannelsLast } from './layout.ts';

/**
 * Pooling. Windowed pools run channels-first between two transposes (like convolutions);
 * average pools exclude padding from the count, as TF does. Global pools reduce the spatial
 * axes in place (no transpose needed), keeping them with `keepdims`.
 */

function poolN(n: number, op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return ([x], _w, ctx) => {
    if (x!.shape.length !== n + 2) throw configError(ctx.layer, `expects a rank-${n + 2} input, got [${x!.shape}]`);
    const cl = channelsLast(ctx.layer);
    const size = tuple(ctx.layer, 'pool_size', n, 2);
    const strides = tuple(ctx.layer, 'strides', n, size);
    const padding = str(ctx.layer, 'padding', 'valid').toLowerCase();
    if (padding !== 'valid' && padding !== 'same') throw configError(ctx.layer, `padding '${padding}' is not supported`);
    const spatial = cl ? x!.shape.slice(1, n + 1) : x!.shape.slice(2);
    const pads = spatial.map((s, i) => spatialPad(padding, s, size[i]!, strides[i]!));
    const input = cl ? toChannelsFirst(ctx, x!) : x!.name;
    const attrs = { kernel_shape: attr.ints(size), strides: attr.ints(strides), ...padAttrs(pads), ...(op === 'AveragePool' ? { count_include_pad: attr.int(0) } : {}) };
    let y = ctx.node(op, [input], attrs)[0]!;
    const channels = cl ? x!.shape[n + 1]! : x!.shape[1]!;
    const out = pads.map((p) => p.out);
    if (cl) y = toChannelsLast(ctx, y, n + 2);
    return [{ name: y, shape: cl ? [x!.shape[0]!, ...out, channels] : [x!.shape[0]!, channels, ...out], dtype: x!.dtype }];
  };
}

function globalN(n: number, op: 'ReduceMean' | 'ReduceMax'): LayerConverter {
  return ([x], _w, ctx) => {
    if (x!.shape.length !== n + 2) throw configError(ctx.layer, `expects a rank-${n + 2} input, got [${x!.shape}]`);
    const cl = channelsLast(ctx.layer);
    const keep = bool(ctx.layer, 'keepdims', false);
    const axes = Array.from({ length: n }, (_, i) => (cl ? i + 1 : i + 2));
    const y = ctx.node(op, [x!.name], { axes: attr.ints(axes), keepdims: attr.int(keep ? 1 : 0) })[0]!;
    const shape = keep ? x!.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x!.shape.filter((_, i) => !axes.includes(i));
    return [{ name: y, shape, dtype: x!.dtype }];
  };
}

const maxPool1D = poolN(1, 'MaxPool');
const maxPool2D = poolN(2, 'MaxPool');
const avgPool1D = poolN(1, 'AveragePool');
const avgPool2D = poolN(2, 'AveragePool');
const globalAvg1D = globalN(1, 'ReduceMean');
const globalAvg2D = globalN(2, 'ReduceMean');
const globalMax1D = globalN(1, 'ReduceMax');
const globalMax2D = globalN(2, 'ReduceMax');

/** Pooling layers (and their Keras aliases, which share the converter). */
export const poolingConverters: Record<string, LayerConverter> = {
  MaxPooling1D: maxPool1D,
  MaxPooling2D: maxPool2D,
  MaxPooling3D: poolN(3, 'MaxPool'),
  MaxPool1D: maxPool1D,
  MaxPool2D: maxPool2D,
  AveragePooling1D: avgPool1D,
  AveragePooling2D: avgPool2D,
  AveragePooling3D: poolN(3, 'AveragePool'),
  AvgPool1D: avgPool1D,
  AvgPool2D: avgPool2D,
  GlobalAveragePooling1D: globalAvg1D,
  GlobalAveragePooling2D: globalAvg2D,
  GlobalAveragePooling3D: globalN(3, 'ReduceMean'),
  GlobalAvgPool1D: globalAvg1D,
  GlobalAvgPool2D: globalAvg2D,
  GlobalMaxPooling1D: globalMax1D,
  GlobalMaxPooling2D: globalMax2D,
  GlobalMaxPooling3D: globalN(3, 'ReduceMax'),
  GlobalMaxPool1D: globalMax1D,
  GlobalMaxPool2D: globalMax2D,
};
