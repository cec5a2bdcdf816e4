import { attr, type AttrValue } from '../../onnx/build.ts';
import { channelsLast, configError, num, str, tuple } from '../config.ts';
import type { KerasLayer, LayerConverter, SymTensor } from '../types.ts';

/**
 * ZeroPadding, Cropping and UpSampling, applied to the spatial axes in place (axes 1…n when
 * channels-last, 2…n+1 when channels-first): no layout change.
 */

/** Per-dimension [before, after] amounts: an int, n ints (symmetric), or n pairs. */
function amounts(layer: KerasLayer, key: string, n: number, fallback: number): [number, number][] {
  const v = layer.config[key] as unknown;
  if (v === undefined || v === null) return Array.from({ length: n }, () => [fallback, fallback]);
  if (typeof v === 'number') return Array.from({ length: n }, () => [v, v]);
  if (Array.isArray(v)) {
    if (n === 1 && v.length === 2 && v.every((x) => typeof x === 'number')) return [[v[0], v[1]]];
    if (v.length === n && v.every((x) => typeof x === 'number')) return v.map((x: number) => [x, x]);
    if (v.length === n && v.every((x) => Array.isArray(x) && x.length === 2)) return v.map((x: number[]) => [x[0]!, x[1]!]);
  }
  throw configError(layer, `cannot read '${key}' ${JSON.stringify(v)}`);
}

function spatialAxes(layer: KerasLayer, n: number): number[] {
  const cl = channelsLast(layer);
  return Array.from({ length: n }, (_, i) => (cl ? i + 1 : i + 2));
}

function zeroPadding(n: number): LayerConverter {
  return ([x], _w, ctx) => {
    const amt = amounts(ctx.layer, 'padding', n, 1);
    const axes = spatialAxes(ctx.layer, n);
    const r = x!.shape.length;
    const before = new Array<number>(r).fill(0);
    const after = new Array<number>(r).fill(0);
    axes.forEach((a, i) => { before[a] = amt[i]![0]; after[a] = amt[i]![1]; });
    const y = ctx.node('Pad', [x!.name, ctx.int64('pads', [...before, ...after])], { mode: attr.string('constant') })[0]!;
    return [{ ...x!, name: y, shape: x!.shape.map((d, i) => (d === null ? null : d + before[i]! + after[i]!)) }];
  };
}

function cropping(n: number): LayerConverter {
  return ([x], _w, ctx) => {
    const amt = amounts(ctx.layer, 'cropping', n, n === 1 ? 1 : 0);
    const axes = spatialAxes(ctx.layer, n);
    // An end of 0 cropped means "to the end": INT64_MAX is ONNX's spelling of that.
    const ends = amt.map(([, e]) => (e === 0 ? Number.MAX_SAFE_INTEGER : -e));
    const y = ctx.node('Slice', [x!.name, ctx.int64('starts', amt.map(([s]) => s)), ctx.int64('ends', ends), ctx.int64('axes', axes)])[0]!;
    const shape = x!.shape.map((d, i) => {
      const k = axes.indexOf(i);
      return k < 0 || d === null ? d : d - amt[k]![0] - amt[k]![1];
    });
    return [{ ...x!, name: y, shape }];
  };
}

/**
 * UpSampling: nearest repeats each element (Resize nearest, asymmetric, floor); bilinear is Resize
 * linear with TF's coordinates: half-pixel for Keras 2.3+/3 (tf.image.resize), asymmetric for tfjs-layers
 * and Keras < 2.3 (TF 1.x resize_bilinear).
 */
function upSampling(n: number): LayerConverter {
  return ([x], _w, ctx) => {
    const size = tuple(ctx.layer, 'size', n, 2);
    const axes = n === 1 ? [1] : spatialAxes(ctx.layer, n);
    const interpolation = str(ctx.layer, 'interpolation', 'nearest');
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw configError(ctx.layer, `interpolation '${interpolation}' is not supported`);
    const scales = x!.shape.map((_, i) => (axes.includes(i) ? size[axes.indexOf(i)]! : 1));
    const attrs: Record<string, AttrValue> = interpolation === 'nearest'
      ? { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') }
      : { mode: attr.string('linear'), coordinate_transformation_mode: attr.string(ctx.flavor?.tfjs || ctx.flavor?.legacyResize ? 'asymmetric' : 'half_pixel') };
    const y = ctx.node('Resize', [x!.name, '', ctx.float('scales', scales)], attrs)[0]!;
    const out: SymTensor = { ...x!, name: y, shape: x!.shape.map((d, i) => (d === null ? null : d * scales[i]!)) };
    return [out];
  };
}

/** CenterCrop (a preprocessing layer) to `height` × `width`, when the input is at least that large. */
const centerCrop: LayerConverter = ([x], _w, ctx) => {
  const h = num(ctx.layer, 'height');
  const w = num(ctx.layer, 'width');
  const [ih, iw] = [x!.shape[1], x!.shape[2]];
  if (x!.shape.length !== 4 || typeof ih !== 'number' || typeof iw !== 'number' || ih < h || iw < w) {
    throw configError(ctx.layer, `needs a known NHWC input at least ${h}×${w}, got [${x!.shape}] (upscaling is not supported)`);
  }
  const top = Math.floor((ih - h) / 2);
  const left = Math.floor((iw - w) / 2);
  const y = ctx.node('Slice', [x!.name, ctx.int64('starts', [top, left]), ctx.int64('ends', [top + h, left + w]), ctx.int64('axes', [1, 2])])[0]!;
  return [{ ...x!, name: y, shape: [x!.shape[0]!, h, w, x!.shape[3]!] }];
};

/** Padding, cropping and upsampling layers. */
export const reshapingConverters: Record<string, LayerConverter> = {
  ZeroPadding1D: zeroPadding(1),
  ZeroPadding2D: zeroPadding(2),
  ZeroPadding3D: zeroPadding(3),
  Cropping1D: cropping(1),
  Cropping2D: cropping(2),
  Cropping3D: cropping(3),
  UpSampling1D: upSampling(1),
  UpSampling2D: upSampling(2),
  UpSampling3D: upSampling(3),
  CenterCrop: centerCrop,
};
