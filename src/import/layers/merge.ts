import { attr } from '../../onnx/build.ts';
import { bool, configError, normAxis } from '../config.ts';
import type { ConvertContext, LayerConverter, SymTensor } from '../types.ts';

/** Merge layers: elementwise (broadcasting like Keras), Concatenate (Keras axis = ONNX axis, layouts are the same), Dot. */

/** The broadcast shape of several Keras shapes (right-aligned). */
function broadcastShape(ts: SymTensor[]): (number | null)[] {
  const rank = Math.max(...ts.map((t) => t.shape.length));
  return Array.from({ length: rank }, (_, i) => {
    const dims = ts.map((t) => t.shape[t.shape.length - rank + i]).filter((d) => d !== undefined);
    if (dims.some((d) => d === null)) return dims.every((d) => d === null || d === 1) ? null : Math.max(...(dims.filter((d) => d !== null) as number[]));
    return Math.max(...(dims as number[]));
  });
}

function elementwise(op: 'Sum' | 'Sub' | 'Mul' | 'Mean' | 'Max' | 'Min'): LayerConverter {
  return (inputs, _w, ctx) => {
    if (inputs.length < 2 && op !== 'Sum') throw configError(ctx.layer, `needs at least 2 inputs, got ${inputs.length}`);
    if (op === 'Sub' && inputs.length !== 2) throw configError(ctx.layer, `needs exactly 2 inputs, got ${inputs.length}`);
    let y: string;
    if (op === 'Sub' || op === 'Mul') {
      y = inputs[0]!.name;
      for (const t of inputs.slice(1)) y = ctx.node(op, [y, t.name])[0]!;
    } else {
      y = ctx.node(op, inputs.map((t) => t.name))[0]!;
    }
    return [{ name: y, shape: broadcastShape(inputs), dtype: inputs[0]!.dtype }];
  };
}

const concatenate: LayerConverter = (inputs, _w, ctx) => {
  const rank = inputs[0]!.shape.length;
  const axis = normAxis(ctx.layer, typeof ctx.layer.config.axis === 'number' ? ctx.layer.config.axis : -1, rank);
  const y = ctx.node('Concat', inputs.map((t) => t.name), { axis: attr.int(axis) })[0]!;
  const shape = inputs[0]!.shape.map((d, i) => (i !== axis ? d : inputs.some((t) => t.shape[i] === null) ? null : inputs.reduce((s, t) => s + (t.shape[i] as number), 0)));
  return [{ name: y, shape, dtype: inputs[0]!.dtype }];
};

/** x / √max(Σx², 1e-12) along `axis` (Keras l2_normalize). */
function l2Normalize(ctx: ConvertContext, t: SymTensor, axis: number): string {
  const sq = ctx.node('ReduceSumSquare', [t.name], { axes: attr.ints([axis]), keepdims: attr.int(1) })[0]!;
  const norm = ctx.node('Sqrt', [ctx.node('Max', [sq, ctx.float('epsilon', [1e-12], [])])[0]!])[0]!;
  return ctx.node('Div', [t.name, norm], {}, { name: 'Normalize' })[0]!;
}

/**
 * Dot (Keras batch_dot) for two rank-2 inputs (→ [B, 1]) or two rank-3 inputs (→ [B, m, n], via
 * MatMul after moving the contracted axes), optionally L2-normalized first (cosine proximity).
 */
const dot: LayerConverter = (inputs, _w, ctx) => {
  if (inputs.length !== 2) throw configError(ctx.layer, `needs exactly 2 inputs, got ${inputs.length}`);
  const [a, b] = inputs as [SymTensor, SymTensor];
  const ra = a.shape.length;
  const rb = b.shape.length;
  const cfg = ctx.layer.config.axes;
  const axesList = Array.isArray(cfg) ? cfg as number[] : [cfg as number, cfg as number];
  if (axesList.length !== 2 || axesList.some((v) => typeof v !== 'number')) throw configError(ctx.layer, `cannot read axes ${JSON.stringify(cfg)}`);
  const ax = normAxis(ctx.layer, axesList[0]!, ra);
  const bx = normAxis(ctx.layer, axesList[1]!, rb);
  const normalize = bool(ctx.layer, 'normalize', false);
  const an = normalize ? l2Normalize(ctx, a, ax) : a.name;
  const bn = normalize ? l2Normalize(ctx, b, bx) : b.name;
  if (ra === 2 && rb === 2) {
    const prod = ctx.node('Mul', [an, bn])[0]!;
    const y = ctx.node('ReduceSum', [prod, ctx.int64('axes', [1])], { keepdims: attr.int(1) })[0]!;
    return [{ name: y, shape: [a.shape[0]!, 1], dtype: 'float32' }];
  }
  if (ra === 3 && rb === 3) {
    const left = ax === 2 ? an : ctx.node('Transpose', [an], { perm: attr.ints([0, 2, 1]) }, { name: 'TransposeA' })[0]!;
    const right = bx === 1 ? bn : ctx.node('Transpose', [bn], { perm: attr.ints([0, 2, 1]) }, { name: 'TransposeB' })[0]!;
    const y = ctx.node('MatMul', [left, right])[0]!;
    return [{ name: y, shape: [a.shape[0]!, a.shape[ax === 2 ? 1 : 2]!, b.shape[bx === 1 ? 2 : 1]!], dtype: 'float32' }];
  }
  throw configError(ctx.layer, `supports two rank-2 or two rank-3 inputs, got ranks ${ra} and ${rb}`);
};

/** Merge layers. */
export const mergeConverters: Record<string, LayerConverter> = {
  Add: elementwise('Sum'),
  Subtract: elementwise('Sub'),
  Multiply: elementwise('Mul'),
  Average: elementwise('Mean'),
  Maximum: elementwise('Max'),
  Minimum: elementwise('Min'),
  Concatenate: concatenate,
  Dot: dot,
};
